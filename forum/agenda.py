"""A meeting's agenda entries: one query and one ordering (position, then id) for every page,
the live room, the minutes and the issue registry, so they never disagree about which entry is
"the next one" when two positions tie."""

from __future__ import annotations

from sqlmodel import Session, col, select

from forum.models import AgendaEntry

# Positions are renumbered on every move, but entries added at once can share one for a moment.
ORDER = (col(AgendaEntry.position), col(AgendaEntry.id))


def entries_of(db: Session, meeting_id: int) -> list[AgendaEntry]:
    """The meeting's agenda, in the order it is taken."""
    return list(db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting_id).order_by(*ORDER)))
