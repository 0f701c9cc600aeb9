"""Leases: which process, of however many serve this database, does a run-once duty now."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class Lease(SQLModel, table=True):
    """One duty (closing due votes, writing the day's notices) and who holds it until when.

    ``expires_at`` is UTC (naive), not the community's local time like the other tables: a lease
    must not gain an hour when clocks go back. Taken and renewed by ``forum.lease`` alone.
    """

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)
    expires_at: NaiveDatetime
