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
    assert len(settings.secret_key) >= 32


def test_without_a_key_each_start_gets_a_fresh_one():
    assert Settings.from_env({}).secret_key != Settings.from_env({}).secret_key


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
    assert settings.database_url.startswith("sqlite:///") and settings.secret_key


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
