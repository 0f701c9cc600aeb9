"""A vote's audit trail: one entry per step, written in the step's own transaction."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session, select

from forum.models import Vote, VoteAudit, now


def audit(db: Session, vote: Vote, actor: str, action: str, detail: str = "") -> None:
    # A plain INSERT, in the caller's transaction: one is written per ballot, and building
    # and flushing an ORM object costs more than the write itself.
    db.execute(insert(VoteAudit).values(vote_id=vote.id, at=now(), actor=actor[:120], action=action,
                                        detail=detail))


def audit_trail(db: Session, vote: Vote) -> list[VoteAudit]:
    return list(db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote.id).order_by(VoteAudit.id)))
