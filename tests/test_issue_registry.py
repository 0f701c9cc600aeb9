"""The registry records every move in the issue's history, with why it was made."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from forum import issue_registry
from forum.lifecycle import Facts, Step
from forum.models import Area


@pytest.fixture
def db(engine):
    with Session(engine) as session:
        area = Area(name="测试社区", slug="test", kind="community")
        session.add(area)
        session.commit()
        yield session


def _issue(db):
    community = db.exec(select(Area)).one()
    issue = issue_registry.raise_issue(db, community_id=community.id, title="楼道堆物", description="三楼楼道堆满纸箱",
                                 category="other", place="3栋", source="walk-in", raised_by="张阿姨")
    db.commit()
    return issue


def test_the_reason_is_the_history_note_when_no_note_is_given(db):
    issue = _issue(db)
    issue_registry.move(db, issue, Step.decline, actor="主持人", facts=Facts(reason="属物业职责，已转交物业"))
    db.commit()
    assert [e.note for e in issue_registry.history(db, issue.id)] == ["", "属物业职责，已转交物业"]


def test_an_explicit_note_wins_over_the_reason(db):
    issue = _issue(db)
    issue_registry.move(db, issue, Step.decline, actor="主持人", facts=Facts(reason="重复"), note="与第3号议题重复")
    db.commit()
    assert issue_registry.history(db, issue.id)[-1].note == "与第3号议题重复"
