"""Dashboards' figures are kept between requests while the database's figures version stays the
same (forum.oversight, migration 0013_page_indexes): every change to what they count moves the
version, whoever makes it (the ORM, a bulk insert, another process), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from forum import db as database
from forum import figures, oversight
from forum.models import Area, AreaKind, Attendance, Issue, Meeting

THIS = figures.quarter_of(date.today())


def _version(engine) -> int:
    with Session(engine) as db:
        return oversight.figures_version(db)


def _moves(engine, statement) -> bool:
    before = _version(engine)
    with engine.begin() as connection:
        connection.execute(statement)
    return _version(engine) != before


def _every_change_moves_the_version(engine) -> None:
    with Session(engine) as db:
        community = db.exec(select(Area).where(Area.kind == AreaKind.community)).first()
        meeting = db.exec(select(Meeting).where(Meeting.community_id == community.id)).first()
        issue = db.exec(select(Issue).where(Issue.community_id == community.id)).first()
        community_id, meeting_id, issue_id = community.id, meeting.id, issue.id
    assert _version(engine) is not None
    raised = datetime.combine(THIS.start, datetime.min.time())
    # Issues: raised, moved, reassigned, deleted; a change to its title is no change to a figure.
    assert _moves(engine, insert(Issue).values(community_id=community_id, title="新的", description="",
                                               category="other", place="", source="online", raised_by="居民",
                                               status="raised", raised_at=raised, updated_at=raised))
    assert _moves(engine, update(Issue).where(Issue.id == issue_id).values(status="resolved", resolved_at=raised))
    assert _moves(engine, update(Issue).where(Issue.id == issue_id).values(category="noise"))
    assert not _moves(engine, update(Issue).where(Issue.id == issue_id).values(title="改了标题"))
    # Meetings held or moved; attendance checked in (in bulk too) and taken away.
    assert _moves(engine, update(Meeting).where(Meeting.id == meeting_id).values(status="ended"))
    assert _moves(engine, update(Meeting).where(Meeting.id == meeting_id).values(starts_at=raised))
    assert not _moves(engine, update(Meeting).where(Meeting.id == meeting_id).values(title="改了名字"))
    with engine.begin() as connection:
        before = _version(engine)
        connection.execute(insert(Attendance), [{"meeting_id": meeting_id, "name": f"居民{i}", "admitted": True,
                                                 "checked_in_at": raised}
                                                for i in range(5)])
    assert _version(engine) != before
    assert _moves(engine, delete(Attendance).where(Attendance.meeting_id == meeting_id,
                                                   Attendance.name.startswith("居民")))
    assert _moves(engine, delete(Issue).where(Issue.title == "新的"))


def test_every_change_to_what_is_counted_moves_the_version_on_sqlite(demo_engine):
    _every_change_moves_the_version(demo_engine)


def test_every_change_to_what_is_counted_moves_the_version_on_postgres(postgres_demo):
    _every_change_moves_the_version(postgres_demo)


def _raised(client, slug: str) -> int:
    page = BeautifulSoup(client.get(f"/a/{slug}/dashboard?quarter={THIS.label}").text, "html.parser")
    return int(re.sub(r"\D", "", page.select_one('[data-figure="raised"]').get_text()))


def test_the_dashboard_counts_an_issue_another_process_raised(client, demo_engine, tmp_path):
    with Session(demo_engine) as db:
        district = db.exec(select(Area).where(Area.kind == AreaKind.district)).first()
        community = db.exec(select(Area).where(Area.kind == AreaKind.community)).first()
        slug, community_id = district.slug, community.id
    before = _raised(client, slug)
    assert _raised(client, slug) == before  # kept: the same figure again
    # Another process: an engine of its own on the same file, writing in bulk with no ORM.
    other = database.make_engine(str(demo_engine.url))
    now = datetime.now()
    with other.begin() as connection:
        connection.execute(insert(Issue), [{"community_id": community_id, "title": f"楼道堆物{i}", "description": "",
                                            "category": "other", "place": "", "source": "online",
                                            "raised_by": "居民", "status": "raised", "raised_at": now,
                                            "updated_at": now} for i in range(3)])
    other.dispose()
    assert _raised(client, slug) == before + 3


def test_figures_are_not_kept_without_the_version_row(client, demo_engine):
    with Session(demo_engine) as db:
        district = db.exec(select(Area).where(Area.kind == AreaKind.district)).first()
        community = db.exec(select(Area).where(Area.kind == AreaKind.community)).first()
        slug, community_id = district.slug, community.id
    from forum.models import FiguresVersion

    with demo_engine.begin() as connection:
        connection.execute(delete(FiguresVersion))
    before = _raised(client, slug)
    with demo_engine.begin() as connection:
        now = datetime.now()
        connection.execute(insert(Issue).values(community_id=community_id, title="t", description="",
                                                category="other", place="", source="online", raised_by="居民",
                                                status="raised", raised_at=now, updated_at=now))
    assert _raised(client, slug) == before + 1


@pytest.mark.parametrize("size", [2, 3])
def test_the_least_recently_used_figures_go_first(size):
    kept = oversight._Kept(size)
    for i in range(4):
        kept.put(("k", i), 7, {"n": i})
    assert kept.get(("k", 3), 7) == {"n": 3}
    assert kept.get(("k", 0), 7) is None
    assert kept.get(("k", 3), 8) is None  # another version: counted again
    assert len(kept.entries) == size
