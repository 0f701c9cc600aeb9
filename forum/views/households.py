"""The household register upload (admins): the same all-or-nothing import as the CLI, in two steps.

Uploading a file checks it and shows what it would change (new units, areas, developer marks,
owners added and removed, phone numbers, masked); nothing is written. "Apply" sends the same file
back with the fingerprint of that preview: the import is planned again and written only if it
still changes exactly what was shown, so a register changed in between is shown again instead of
being overwritten unseen. The file travels in the page (base64), so nothing is staged on the server
before "Apply". Apply writes through ``household_register.apply_journaled``: staged, then written in short
transactions (all or nothing by rolling forward), so the room's writes go on during a large import.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from sqlmodel import Session, select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from forum import auth, household_register
from forum.i18n import gettext as _
from forum.models import Area, AreaKind, Household
from forum.web import form, int_param, page, render, require

MAX_UPLOAD = 5 * 1024 * 1024
PREVIEW_ROWS = 200  # rows of each kind of change listed; the counts are always whole


def _context(db: Session, user=None, **extra) -> dict:
    # A street's or district's admin imports into its own communities only.
    communities = [c for c in db.exec(select(Area).where(Area.kind == AreaKind.community).order_by(Area.id))
                   if auth.administers(user, c.id)]
    counts = {c.id: len(db.exec(select(Household.id).where(Household.community_id == c.id)).all())
              for c in communities}
    return {"communities": communities, "counts": counts, "errors": {}, "row_errors": [], "result": None,
            "values": {}, "plan": None, "preview_rows": PREVIEW_ROWS} | extra


def _refused(request: Request, db: Session, refused: household_register.ImportRefused, values: dict) -> Response:
    user = request.state.user
    db.rollback()
    row_errors = [(e.line, e.field, _(e.message) % e.params if e.params else _(e.message)) for e in refused.errors]
    return render(request, "households_import.html",
                  _context(db, user, row_errors=row_errors, values=values,
                           errors={"file": _("Nothing was imported: fix the rows below and upload again.")}),
                  status_code=422)


@page
def household_import(request: Request, db: Session) -> Response:
    user = require(request, auth.is_admin)
    if request.method != "POST":
        return render(request, "households_import.html", _context(db, user))
    data = form(request)
    values = {"community": str(data.get("community", ""))}
    errors: dict[str, str] = {}
    community = db.get(Area, int_param(values["community"]) or 0)
    if community is None or community.kind != AreaKind.community or not auth.administers(user, community.id):
        errors["community"] = _("Choose the community the households belong to.")
    confirm = data.get("confirm") == "1"
    content = b""
    if confirm:
        try:
            content = base64.b64decode(str(data.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            content = b""
        if not content or len(content) > MAX_UPLOAD:
            errors["file"] = _("Choose a CSV file to upload.")
    else:
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors["file"] = _("Choose a CSV file to upload.")
        else:
            content = upload.file.read(MAX_UPLOAD + 1)
            if len(content) > MAX_UPLOAD:
                errors["file"] = _("The file is larger than 5 MB; split it into smaller files.")
    if errors:
        return render(request, "households_import.html", _context(db, user, errors=errors, values=values),
                      status_code=422)
    try:
        rows = household_register.parse(content)
        plan = household_register.plan_import(db, community.id, rows)
    except household_register.ImportRefused as refused:
        return _refused(request, db, refused, values)
    digest = plan.digest()
    if confirm and hmac.compare_digest(digest, str(data.get("digest", ""))):
        steps = household_register.journal_steps(plan)
        db.rollback()  # the plan only read; the import writes in its own short transactions
        try:
            # Chunked so ballots and check-ins keep being written while a large register loads; the
            # audit entry is written with the import's last chunk.
            result = household_register.apply_journaled(request.app.state.engine, plan, request=request, steps=steps)
        except household_register.ImportBusy as busy:
            return render(request, "households_import.html",
                          _context(db, user, errors={"file": _(str(busy))}, values=values), status_code=409)
        return render(request, "households_import.html", _context(db, user, result=result, values=values,
                                                                   imported_into=community))
    db.rollback()
    notice = _("The register changed since that preview. Here is what the file would change now; check it "
               "again.") if confirm else None
    return render(request, "households_import.html",
                  _context(db, user, plan=plan, digest=digest, data=base64.b64encode(content).decode(), values=values,
                           community=community, notice=notice),
                  status_code=409 if notice else 200)
