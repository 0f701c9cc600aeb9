"""Settings come from the environment, have safe defaults, and are all documented in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forum.settings import DOCUMENTED, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{tmp_path / 'forum.db'}"
    assert settings.language == "zh-Hans"
    assert settings.secret_key == ""  # the installation's own key, from its database


def test_without_a_key_the_installation_keeps_one_across_restarts(tmp_path):
    from forum import db as database

    url = f"sqlite:///{tmp_path / 'forum.db'}"
    first = database.make_engine(url)
    database.upgrade(first)
    key = database.instance_secret(first)
    first.dispose()
    again = database.make_engine(url)  # a restart: a new engine over the same data
    assert len(key) >= 32 and database.instance_secret(again) == key
    again.dispose()
    other = database.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    database.upgrade(other)
    assert database.instance_secret(other) != key
    other.dispose()


def test_a_sign_in_survives_a_restart(tmp_path):
    from sqlmodel import Session
    from starlette.testclient import TestClient

    from forum import db as database
    from forum.app import create_app
    from forum.auth import create_user

    url = f"sqlite:///{tmp_path / 'forum.db'}"
    engine = database.make_engine(url)
    database.upgrade(engine)
    with Session(engine) as session:
        create_user(session, username="admin", password="pw-12345678", display_name="管理员", role="admin")
        session.commit()
    engine.dispose()
    with TestClient(create_app(Settings.from_env({"FORUM_DATABASE_URL": url}))) as before:
        assert before.post("/login", data={"username": "admin", "password": "pw-12345678"},
                           follow_redirects=False).status_code == 303
        cookies = dict(before.cookies)
    with TestClient(create_app(Settings.from_env({"FORUM_DATABASE_URL": url})), cookies=cookies) as after:
        r = after.get("/admin/households", follow_redirects=False)
        assert r.status_code == 200, r.headers.get("location")


def test_overrides():
    settings = Settings.from_env({
        "FORUM_DATABASE_URL": "postgresql+psycopg://forum@db/forum",
        "FORUM_SECRET_KEY": "s3cret",
        "FORUM_LANGUAGE": "en",
    })
    assert settings == Settings(database_url="postgresql+psycopg://forum@db/forum", secret_key="s3cret",
                                language="en")


@pytest.mark.parametrize(("given", "expected"), [
    ("en", "en"), ("en-GB", "en"), ("zh-CN", "zh-Hans"), ("zh_Hans", "zh-Hans"), ("zh", "zh-Hans"),
    ("fr", "zh-Hans"), ("", "zh-Hans"),
])
def test_language_is_normalised_or_falls_back(given, expected):
    assert Settings.from_env({"FORUM_LANGUAGE": given}).language == expected


@pytest.mark.parametrize("key", ["FORUM_DATABASE_URL", "FORUM_SECRET_KEY"])
def test_empty_values_mean_the_default(key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({key: ""})
    assert settings.database_url.startswith("sqlite:///") and settings.secret_key == ""


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("FORUM_LANGUAGE", "en")
    monkeypatch.setenv("FORUM_SECRET_KEY", "from-env")
    settings = Settings.from_env()
    assert (settings.database_url, settings.language, settings.secret_key) == ("sqlite:///elsewhere.db", "en",
                                                                                 "from-env")


def test_every_setting_read_is_documented():
    source = (Path(__file__).resolve().parent.parent / "forum" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"""env\.get\(["'](FORUM_[A-Z_]+)["']""", source))
    assert read, "settings.py reads no FORUM_ variable?"
    assert read <= set(DOCUMENTED)


@pytest.mark.parametrize("key", sorted(DOCUMENTED))
def test_documented_setting_is_in_readme(key):
    assert key in README.read_text(encoding="utf-8"), f"README.md does not mention {key}"


@pytest.mark.parametrize(("given", "expected"), [(None, 20.0), ("", 20.0), ("5", 5.0), ("0.5", 0.5), ("300", 300.0)])
def test_heartbeat_seconds(given, expected):
    env = {} if given is None else {"FORUM_HEARTBEAT_SECONDS": given}
    assert Settings.from_env(env).heartbeat_seconds == expected


@pytest.mark.parametrize("given", ["0", "-1", "301", "fast", "nan"])
def test_a_wrong_heartbeat_is_refused_with_what_is_expected(given):
    with pytest.raises(ValueError, match="FORUM_HEARTBEAT_SECONDS .* from 0.5 to 300"):
        Settings.from_env({"FORUM_HEARTBEAT_SECONDS": given})


def test_the_command_line_names_a_wrong_setting_without_a_traceback(monkeypatch):
    from click.testing import CliRunner

    from forum.cli import main

    monkeypatch.setenv("FORUM_HEARTBEAT_SECONDS", "fast")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "FORUM_HEARTBEAT_SECONDS is 'fast'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("given", "expected"), [(None, 1.0), ("", 1.0), ("0.1", 0.1), ("5", 5.0), ("60", 60.0)])
def test_vote_closer_seconds(given, expected):
    env = {} if given is None else {"FORUM_VOTE_CLOSER_SECONDS": given}
    assert Settings.from_env(env).vote_closer_seconds == expected


@pytest.mark.parametrize("given", ["0", "0.05", "61", "-1", "fast", "nan", "inf"])
def test_a_wrong_vote_closer_interval_is_refused_with_what_is_expected(given):
    with pytest.raises(ValueError, match="FORUM_VOTE_CLOSER_SECONDS .* from 0.1 to 60"):
        Settings.from_env({"FORUM_VOTE_CLOSER_SECONDS": given})
