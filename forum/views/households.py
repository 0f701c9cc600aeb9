"""The household registry upload (admins): the same all-or-nothing import as the CLI."""

from __future__ import annotations

from sqlmodel import Session, select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from forum import audit, auth, households
from forum.i18n import gettext as _
from forum.models import Area, AreaKind, Household
from forum.web import form, int_param, page, render, require

MAX_UPLOAD = 5 * 1024 * 1024


def _context(db: Session, **extra) -> dict:
    communities = db.exec(select(Area).where(Area.kind == AreaKind.community).order_by(Area.id)).all()
    counts = {c.id: len(db.exec(select(Household.id).where(Household.community_id == c.id)).all())
              for c in communities}
    return {"communities": communities, "counts": counts, "errors": {}, "row_errors": [], "result": None,
            "values": {}} | extra


@page
def household_import(request: Request, db: Session) -> Response:
    require(request, auth.is_admin)
    if request.method != "POST":
        return render(request, "households_import.html", _context(db))
    data = form(request)
    values = {"community": str(data.get("community", ""))}
    errors: dict[str, str] = {}
    community = db.get(Area, int_param(values["community"]) or 0)
    if community is None or community.kind != AreaKind.community:
        errors["community"] = _("Choose the community the households belong to.")
    upload = data.get("file")
    content = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = _("Choose a CSV file to upload.")
    else:
        content = upload.file.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            errors["file"] = _("The file is larger than 5 MB; split it into smaller files.")
    if errors:
        return render(request, "households_import.html", _context(db, errors=errors, values=values), status_code=422)
    try:
        rows = households.parse(content)
        result = households.import_rows(db, community.id, rows)
    except households.ImportRefused as refused:
        db.rollback()
        row_errors = [(e.line, e.field, _(e.message) % e.params if e.params else _(e.message)) for e in refused.errors]
        return render(request, "households_import.html",
                      _context(db, row_errors=row_errors, values=values,
                               errors={"file": _("Nothing was imported: fix the rows below and upload again.")}),
                      status_code=422)
    audit.record(db, request, "household_import", "community", community.id,
                 f"{result.created} new, {result.updated} updated", community_id=community.id)
    db.commit()
    return render(request, "households_import.html", _context(db, result=result, values=values,
                                                               imported_into=community))
