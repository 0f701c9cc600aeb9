"""Settings, read once from the environment (documented in README.md, checked by a test)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from forum.i18n import DEFAULT_LANGUAGE, normalise

# The settings a deployment can change, with what they mean; README.md must name each one.
DOCUMENTED = {
    "FORUM_DATABASE_URL": "SQLAlchemy URL of the database (default: sqlite:///forum.db in the current folder)",
    "FORUM_SECRET_KEY": "key that signs session cookies; set it in production so sign-ins survive restarts",
    "FORUM_LANGUAGE": "default interface language, zh-Hans or en (default zh-Hans)",
}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    language: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("FORUM_DATABASE_URL") or f"sqlite:///{Path.cwd() / 'forum.db'}"
        # Without a configured key each start gets a fresh one: safe, but signs everyone out.
        key = env.get("FORUM_SECRET_KEY") or secrets.token_urlsafe(32)
        language = normalise(env.get("FORUM_LANGUAGE")) or DEFAULT_LANGUAGE
        return cls(database_url=url, secret_key=key, language=language)
