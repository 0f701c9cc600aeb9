"""``forum notify``: today's due and overdue notices, once a day, and each person's digest."""

from __future__ import annotations

from datetime import date, timedelta

from click.testing import CliRunner
from sqlmodel import Session, select

from forum import notify
from forum.cli import main
from forum.models import Action, Notice, User


def test_the_demo_liaison_is_told_of_the_overdue_check_once_a_day(demo_engine):
    today = date.today()
    with Session(demo_engine) as db:
        liaison = db.exec(select(User).where(User.username == "liaison")).one()
        notify.sweep(db, today)  # the demo has swept today already: nothing new, or what is new
        db.commit()
        overdue = db.exec(select(Notice).where(Notice.user_id == liaison.id, Notice.kind == "overdue")).all()
        assert len(overdue) == 1 and "复查面馆油烟排放" in db.get(Action, overdue[0].action_id).what
        assert notify.sweep(db, today) == 0  # the same day again: nothing twice
        assert notify.sweep(db, today + timedelta(days=1)) > 0  # the next day: told again
        digest = {d.username: d.text for d in notify.digests(db, today, "https://forum.example.org", "zh-Hans")}
        assert "复查面馆油烟排放" in digest["liaison"] and "已逾期" in digest["liaison"]
        assert "https://forum.example.org/my-work" in digest["liaison"]


def test_the_command_writes_one_file_a_person(demo_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", str(demo_engine.url))
    result = CliRunner().invoke(main, ["notify", "--out", str(tmp_path / "digests")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "digests" / "liaison.txt").read_text(encoding="utf-8")
    assert "复查面馆油烟排放" in text
    result = CliRunner().invoke(main, ["notify"], catch_exceptions=False)
    assert "==> liaison" in result.output and "0 new notice(s)" in result.output  # once a day


def test_a_done_action_is_told_of_no_more(demo_engine):
    today = date.today()
    with Session(demo_engine) as db:
        for action in db.exec(select(Action)).all():
            action.status = "done"
            db.add(action)
        db.commit()
        assert notify.sweep(db, today + timedelta(days=1)) == 0
