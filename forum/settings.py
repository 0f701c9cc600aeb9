"""Settings, read once from the environment (documented in README.md, checked by a test)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from forum.i18n import DEFAULT_LANGUAGE, normalise

# The settings a deployment can change, with what they mean; README.md must name each one.
DOCUMENTED = {
    "FORUM_DATABASE_URL": "SQLAlchemy URL of the database (default: sqlite:///forum.db in the current folder)",
    "FORUM_SECRET_KEY": "key that signs session cookies (default: one generated once and kept in the database)",
    "FORUM_LANGUAGE": "default interface language, zh-Hans or en (default zh-Hans)",
    "FORUM_HEARTBEAT_SECONDS": "how often room pages hear from the server when nothing changes (default 20)",
    "FORUM_SIGNIN_LIMIT": "failed sign-ins per account within the window before it is refused (default 10)",
    "FORUM_SIGNIN_ADDRESS_LIMIT": "failed sign-ins per client address within the window before refusal (default 30)",
    "FORUM_SIGNIN_WINDOW_MINUTES": "the sign-in throttle's window, in minutes (default 15)",
    "FORUM_SESSION_IDLE_MINUTES": "a staff session unused this long has ended (default 480: 8 hours)",
    "FORUM_SESSION_MAX_DAYS": "a staff session ends this long after sign-in, however busy (default 14)",
}

HEARTBEAT_SECONDS = 20.0
HEARTBEAT_RANGE = (0.5, 300.0)


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str  # empty: the installation's own key, kept in its database
    language: str
    # Room pages hear from the server at least this often; one that hears nothing for two beats
    # takes its connection for dead (a wifi link can die without a word) and says so.
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    # Failed sign-ins: refused for the rest of the window once an account or an address reaches
    # its limit (forum.views.account), so guessing a password takes years, not hours.
    signin_limit: int = 10
    signin_address_limit: int = 30  # higher: a community hall's staff share one address
    signin_window_minutes: int = 15
    # Staff sessions (forum.sessions): ended when idle this long, and this long after sign-in.
    session_idle_minutes: int = 480
    session_max_days: int = 14

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("FORUM_DATABASE_URL") or f"sqlite:///{Path.cwd() / 'forum.db'}"
        key = env.get("FORUM_SECRET_KEY") or ""
        language = normalise(env.get("FORUM_LANGUAGE")) or DEFAULT_LANGUAGE
        return cls(database_url=url, secret_key=key, language=language,
                   heartbeat_seconds=_seconds(env.get("FORUM_HEARTBEAT_SECONDS")),
                   signin_limit=_whole(env, "FORUM_SIGNIN_LIMIT", 10, 1, 1000),
                   signin_address_limit=_whole(env, "FORUM_SIGNIN_ADDRESS_LIMIT", 30, 1, 10000),
                   signin_window_minutes=_whole(env, "FORUM_SIGNIN_WINDOW_MINUTES", 15, 1, 1440),
                   session_idle_minutes=_whole(env, "FORUM_SESSION_IDLE_MINUTES", 480, 5, 14 * 1440),
                   session_max_days=_whole(env, "FORUM_SESSION_MAX_DAYS", 14, 1, 90))


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


def _whole(env: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    """A whole number setting within bounds; a wrong one stops the start with what is expected."""
    text = (env.get(key) or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{key} is {text!r}; it must be a whole number from {low} to {high}.")
    return int(text)
