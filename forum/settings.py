"""Settings, read once from the environment (documented in README.md, checked by a test)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from forum.i18n import DEFAULT_LANGUAGE, normalise

# The settings a deployment can change, with what they mean; README.md must name each one.
DOCUMENTED = {
    "FORUM_DATABASE_URL": "SQLAlchemy URL of the database (default: sqlite:///forum.db in the current folder)",
    "FORUM_SECRET_KEY": "key that signs session cookies (default: one generated once and kept in the database)",
    "FORUM_LANGUAGE": "default interface language, zh-Hans or en (default zh-Hans)",
    "FORUM_HEARTBEAT_SECONDS": "how often room pages hear from the server when nothing changes (default 20)",
    "FORUM_PUBLIC_URL": "the address residents' tablets reach forum at, e.g. https://forum.example.org; the join "
                        "QR code encodes it (default: none, the address a page was asked for, for local use)",
    "FORUM_ALLOWED_HOSTS": "comma-separated host names forum answers to; others get 400 (default: the public "
                           "URL's host, localhost and 127.0.0.1; * for any)",
    "FORUM_SECURE_COOKIES": "1 to mark cookies Secure (sent over HTTPS only), 0 not to (default: 1 when the public "
                            "URL is https)",
    "FORUM_VOTE_CLOSER_SECONDS": "how often votes whose closing time has passed are looked for and closed (default 1)",
    "FORUM_SECRET_BATCH": "the fewest voters whose secret ballots are written to the database together (default 5)",
    "FORUM_SLIP_DAYS": "how many days a printed household slip's code stays valid (default 90)",
    "FORUM_SIGNIN_LIMIT": "failed sign-ins per account within the window before it is refused (default 10)",
    "FORUM_SIGNIN_ADDRESS_LIMIT": "failed sign-ins per client address within the window before refusal (default 30)",
    "FORUM_SIGNIN_WINDOW_MINUTES": "the sign-in throttle's window, in minutes (default 15)",
    "FORUM_SESSION_IDLE_MINUTES": "a staff session unused this long has ended (default 480: 8 hours)",
    "FORUM_SESSION_MAX_DAYS": "a staff session ends this long after sign-in, however busy (default 14)",
    "FORUM_BROADCAST_URL": "redis://host:port/db of the Redis that carries live changes between forum's processes "
                           "(default: none, one process)",
    "FORUM_BROADCAST_CHANNEL": "the Redis channel's name, for two installations sharing one Redis (default forum)",
    "FORUM_REDIS_PERSISTENCE_OFF": "1 to declare that the Redis keeps nothing on disk when forum may not read its "
                                   "configuration (managed Redis); secret ballots wait there (default: checked)",
}

# Always answered: the machine itself (forum demo, a console on the server) and the test client.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "testserver")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

HEARTBEAT_SECONDS = 20.0
HEARTBEAT_RANGE = (0.5, 300.0)
VOTE_CLOSER_SECONDS = 1.0
VOTE_CLOSER_RANGE = (0.1, 60.0)
SECRET_BATCH = 5
SECRET_BATCH_RANGE = (2, 1000)
SLIP_DAYS = 90
PAGE_CACHE_MB = 64
# Connections each process may hold open to PostgreSQL at once (requests in the thread pool, the
# room's renders, the ballot box, the closer); ten stay open between uses.
DATABASE_CONNECTIONS = 30
SLIP_DAYS_RANGE = (1, 3650)


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str  # empty: the installation's own key, kept in its database
    language: str
    # Room pages hear from the server at least this often; one that hears nothing for two beats
    # takes its connection for dead (a wifi link can die without a word) and says so.
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    # Where tablets reach forum ("https://host[:port]", no path): the join URL and QR code come from
    # here, never from a request's Host header, which anyone can write. Empty: local use.
    public_url: str = ""
    # Host names answered; others are refused before any view runs. Empty: LOCAL_HOSTS and the
    # public URL's host.
    allowed_hosts: tuple[str, ...] = field(default=())
    secure_cookies: bool | None = None  # None: derived from the public URL's scheme

    @property
    def hosts(self) -> list[str]:
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        public = urlsplit(self.public_url).hostname if self.public_url else None
        return [*LOCAL_HOSTS, *([public] if public else [])]

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.public_url.startswith("https://")

    # A vote past its closing time takes no ballot at once; within this long it is closed and
    # counted, and the room shows the result (forum.votes.closer).
    vote_closer_seconds: float = VOTE_CLOSER_SECONDS
    # K: every commit that adds secret ballots adds those of at least this many voters (forum.secrecy).
    secret_batch: int = SECRET_BATCH
    # How long a printed household slip's code stays valid (forum.verification).
    slip_days: int = SLIP_DAYS
    # Failed sign-ins: refused for the rest of the window once an account or an address reaches
    # its limit (forum.views.account), so guessing a password takes years, not hours.
    signin_limit: int = 10
    signin_address_limit: int = 30  # higher: a community hall's staff share one address
    signin_window_minutes: int = 15
    # Staff sessions (forum.sessions): ended when idle this long, and this long after sign-in.
    session_idle_minutes: int = 480
    session_max_days: int = 14
    # Where the live room's changes go to every other process (forum.broadcast). Empty: this process
    # is the only one, and changes stay in it.
    broadcast_url: str = ""
    broadcast_channel: str = "forum"
    # Secret ballots wait in that Redis too (forum.redis_urn): it must keep nothing on disk. Checked
    # at start; where CONFIG is forbidden (managed Redis) the operator declares it instead.
    redis_persistence_off: bool = False
    # Pages of the record rendered once and served again until it changes (forum.page_cache): at most
    # this many MB of them in each process; 0 renders every page afresh.
    page_cache_mb: int = PAGE_CACHE_MB
    # At most this many connections from each process to PostgreSQL: N workers need N times this
    # from the server's max_connections (forum serve warns when they would not fit).
    database_connections: int = DATABASE_CONNECTIONS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("FORUM_DATABASE_URL") or f"sqlite:///{Path.cwd() / 'forum.db'}"
        key = env.get("FORUM_SECRET_KEY") or ""
        language = normalise(env.get("FORUM_LANGUAGE")) or DEFAULT_LANGUAGE
        return cls(database_url=url, secret_key=key, language=language,
                   heartbeat_seconds=_seconds(env.get("FORUM_HEARTBEAT_SECONDS")),
                   vote_closer_seconds=_number(env, "FORUM_VOTE_CLOSER_SECONDS", VOTE_CLOSER_SECONDS,
                                               *VOTE_CLOSER_RANGE),
                   public_url=public_url(env.get("FORUM_PUBLIC_URL")),
                   allowed_hosts=_hosts(env.get("FORUM_ALLOWED_HOSTS")),
                   secure_cookies=_flag("FORUM_SECURE_COOKIES", env.get("FORUM_SECURE_COOKIES")),
                   secret_batch=_whole(env, "FORUM_SECRET_BATCH", SECRET_BATCH, *SECRET_BATCH_RANGE),
                   slip_days=_whole(env, "FORUM_SLIP_DAYS", SLIP_DAYS, *SLIP_DAYS_RANGE),
                   signin_limit=_whole(env, "FORUM_SIGNIN_LIMIT", 10, 1, 1000),
                   signin_address_limit=_whole(env, "FORUM_SIGNIN_ADDRESS_LIMIT", 30, 1, 10000),
                   signin_window_minutes=_whole(env, "FORUM_SIGNIN_WINDOW_MINUTES", 15, 1, 1440),
                   session_idle_minutes=_whole(env, "FORUM_SESSION_IDLE_MINUTES", 480, 5, 14 * 1440),
                   session_max_days=_whole(env, "FORUM_SESSION_MAX_DAYS", 14, 1, 90),
                   broadcast_url=broadcast_url(env.get("FORUM_BROADCAST_URL")),
                   broadcast_channel=_channel(env.get("FORUM_BROADCAST_CHANNEL")),
                   page_cache_mb=_whole(env, "FORUM_PAGE_CACHE_MB", PAGE_CACHE_MB, 0, 4096),
                   database_connections=_whole(env, "FORUM_DATABASE_CONNECTIONS", DATABASE_CONNECTIONS, 4, 1000),
                   redis_persistence_off=bool(_flag("FORUM_REDIS_PERSISTENCE_OFF",
                                                    env.get("FORUM_REDIS_PERSISTENCE_OFF"))))


def public_url(text: str | None) -> str:
    """``scheme://host[:port]`` with no trailing slash, or "" when unset; anything else is refused."""
    if not text or not text.strip():
        return ""
    parts = urlsplit(text.strip())
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"FORUM_PUBLIC_URL is {text!r}; it must be the address tablets use, such as "
                         "https://forum.example.org or http://192.168.1.10:8000, with no path.")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def broadcast_url(text: str | None) -> str:
    """A Redis URL (``redis://``, ``rediss://`` or ``unix://``), or "" when unset."""
    if not text or not text.strip():
        return ""
    parts = urlsplit(text.strip())
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    host_ok = bool(parts.hostname) if parts.scheme in ("redis", "rediss") else bool(parts.path)
    if parts.scheme not in ("redis", "rediss", "unix") or not host_ok or not port_ok:
        raise ValueError(f"FORUM_BROADCAST_URL is {text!r}; it must be a Redis address such as "
                         "redis://127.0.0.1:6379/0 (or unix:///run/redis/redis.sock).")
    return text.strip()


_CHANNEL = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def _channel(text: str | None) -> str:
    if not text or not text.strip():
        return "forum"
    if not _CHANNEL.fullmatch(text.strip()):
        raise ValueError(f"FORUM_BROADCAST_CHANNEL is {text!r}; it must be 1 to 64 letters, digits or . _ : -")
    return text.strip()


def _hosts(text: str | None) -> tuple[str, ...]:
    if not text or not text.strip():
        return ()
    hosts = tuple(h.strip().lower() for h in text.split(",") if h.strip())
    for host in hosts:
        if host != "*" and (not host.lstrip("*.") or any(c in host for c in "/:@ ")):
            raise ValueError(f"FORUM_ALLOWED_HOSTS names {host!r}; give host names without scheme or port, "
                             "separated by commas, such as forum.example.org,192.168.1.10 (or * for any).")
    return hosts


def _flag(name: str, text: str | None) -> bool | None:
    if not text or not text.strip():
        return None
    if text.strip().lower() in TRUE:
        return True
    if text.strip().lower() in FALSE:
        return False
    raise ValueError(f"{name} is {text!r}; it must be 1 or 0.")


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


def _number(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    """A number setting within bounds; a wrong one stops the start with what is expected."""
    text = (env.get(key) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also refuses nan
        raise ValueError(f"{key} is {text!r}; it must be a number of seconds from {low:g} to {high:g}.")
    return value


def _whole(env: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    """A whole number setting within bounds; a wrong one stops the start with what is expected."""
    text = (env.get(key) or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{key} is {text!r}; it must be a whole number from {low} to {high}.")
    return int(text)
