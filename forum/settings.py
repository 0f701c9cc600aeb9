"""Settings, read once from the environment (documented in README.md, checked by a test)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from forum.i18n import DEFAULT_LANGUAGE, normalise

# The settings a deployment can change, with what they mean; README.md must name each one.
DOCUMENTED = {
    "FORUM_DATABASE_URL": "SQLAlchemy URL of the database (default: sqlite:///forum.db in the current folder)",
    "FORUM_SECRET_KEY": "key that signs session cookies (default: one generated once and kept in the database)",
    "FORUM_LANGUAGE": "default interface language, zh-Hans or en (default zh-Hans)",
    "FORUM_HEARTBEAT_SECONDS": "how often room pages hear from the server when nothing changes (default 20)",
    "FORUM_SLIP_DAYS": "how many days a printed household slip's code stays valid (default 90)",
}

HEARTBEAT_SECONDS = 20.0
HEARTBEAT_RANGE = (0.5, 300.0)
SLIP_DAYS = 90
SLIP_DAYS_RANGE = (1, 3650)


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str  # empty: the installation's own key, kept in its database
    language: str
    # Room pages hear from the server at least this often; one that hears nothing for two beats
    # takes its connection for dead (a wifi link can die without a word) and says so.
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    slip_days: int = SLIP_DAYS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("FORUM_DATABASE_URL") or f"sqlite:///{Path.cwd() / 'forum.db'}"
        key = env.get("FORUM_SECRET_KEY") or ""
        language = normalise(env.get("FORUM_LANGUAGE")) or DEFAULT_LANGUAGE
        return cls(database_url=url, secret_key=key, language=language,
                   heartbeat_seconds=_seconds(env.get("FORUM_HEARTBEAT_SECONDS")),
                   slip_days=_slip_days(env.get("FORUM_SLIP_DAYS")))


def _seconds(text: str | None) -> float:
    if not text:
        return HEARTBEAT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    low, high = HEARTBEAT_RANGE
    if not low <= value <= high:
        raise ValueError(f"FORUM_HEARTBEAT_SECONDS is {text!r}; it must be a number of seconds "
                         f"from {low:g} to {high:g}.")
    return value


def _slip_days(text: str | None) -> int:
    if not text:
        return SLIP_DAYS
    low, high = SLIP_DAYS_RANGE
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ValueError(f"FORUM_SLIP_DAYS is {text!r}; it must be a whole number of days from {low} to {high}.")
    return int(text)
