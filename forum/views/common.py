"""What several views share: finding a community, translating refusals, issue queries."""

from __future__ import annotations

from sqlmodel import Session, func, select
from starlette.exceptions import HTTPException

from forum.i18n import gettext
from forum.lifecycle import STATUS_LABELS, STEP_LABELS, Refused
from forum.models import Area, AreaKind, Committee


def community_or_404(db: Session, slug: str) -> Area:
    area = db.exec(select(Area).where(Area.slug == slug, Area.kind == AreaKind.community)).first()
    if area is None:
        raise HTTPException(404)
    return area


def committees_of(db: Session, community_id: int) -> list[Committee]:
    return list(db.exec(select(Committee).where(Committee.community_id == community_id).order_by(Committee.id)))


def refusal(error: Refused) -> str:
    """A lifecycle refusal in the reader's language, with its statuses named, not coded."""
    params = {}
    for key, value in error.params.items():
        labels = STATUS_LABELS if key == "status" else STEP_LABELS if key == "action" else {}
        label = labels.get(value)  # type: ignore[call-overload]
        params[key] = gettext(label) if label else value
    return gettext(error.reason) % params if params else gettext(error.reason)


def count_by(db: Session, column, *where) -> dict[str, int]:
    rows = db.exec(select(column, func.count()).where(*where).group_by(column)).all()
    return {key: n for key, n in rows}
