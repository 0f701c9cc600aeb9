"""How forum is served: uvicorn with the live room's websocket settings, and a garbage collector
tuned for a process that holds thousands of open connections.

``forum serve`` and the benchmarks both start here, so what is measured is what is run.
"""

from __future__ import annotations

import gc
from typing import Any

# Python's collector looks at young objects every 700 allocations and, now and then, at all of
# them. With 2,000 tablets connected the process holds some 400,000 objects, and a full look
# holds every request for 100-170 ms; it came in the middle of a hall's ballots often enough to
# set their p99. Young collections every 10,000 allocations promote far fewer objects of
# requests still in flight, so full collections come much more rarely (``forum bench vote``).
YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Call once the app is built: what exists then (modules, classes, templates) lives as long as
    the process, so it is frozen out of every later collection."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


# No permessage-deflate: the live room's fragments are small, and a zlib context per tablet
# costs ~100 KB of memory and a compression per tablet per push (see ``forum bench live``).
UVICORN = {"ws": "websockets-sansio", "ws_per_message_deflate": False}


def serve(app: Any, host: str, port: int, *, log_level: str = "info", **options: Any) -> None:
    import uvicorn

    tune_gc()
    uvicorn.run(app, host=host, port=port, log_level=log_level, **UVICORN, **options)


def app_factory() -> Any:
    """The application as each worker builds it (settings from the environment), its collector tuned."""
    from forum.app import create_app

    app = create_app()
    tune_gc()
    return app


def serve_workers(host: str, port: int, workers: int, *, log_level: str = "info", **options: Any) -> None:
    """``workers`` processes on one listening socket, each building its own application (and hub,
    ballot box, pool of database connections); uvicorn starts a new one when one dies. The live
    room's changes cross between them through FORUM_BROADCAST_URL (forum.broadcast)."""
    import uvicorn

    uvicorn.run("forum.server:app_factory", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, **UVICORN, **options)


def workers_refusal(workers: int, broadcast_url: str) -> str | None:
    """Why ``workers`` processes cannot serve this configuration, or None when they can."""
    if workers < 1:
        return "--workers must be 1 or more"
    if workers > 1 and not broadcast_url:
        return (f"--workers {workers} needs FORUM_BROADCAST_URL (a Redis address such as redis://127.0.0.1:6379/0): "
                "without it a change made in one worker would never reach the tablets connected to another")
    return None


def workers_warning(workers: int, database_url: str) -> str | None:
    if workers > 1 and database_url.startswith("sqlite"):
        return (f"{workers} workers share one SQLite file: they take turns writing, on this machine only; "
                "PostgreSQL (FORUM_DATABASE_URL=postgresql+psycopg://…) serves several workers and machines")
    return None


def connections_warning(workers: int, per_worker: int, available: int | None) -> str | None:
    """When ``workers`` processes, each allowed ``per_worker`` connections, could ask PostgreSQL for
    more than the ``available`` it takes (max_connections less those kept for superusers): under load
    the last to ask would be refused ("too many clients") and its request fail."""
    if available is None or workers * per_worker <= available:
        return None
    return (f"{workers} worker{'s' if workers > 1 else ''} may open up to {workers * per_worker} connections to "
            f"PostgreSQL ({per_worker} each, FORUM_DATABASE_CONNECTIONS), but it takes {available}: raise its "
            "max_connections, or lower FORUM_DATABASE_CONNECTIONS; leave room for other processes, "
            "`forum` commands and backups")


def postgres_connections_available(engine) -> int | None:
    """max_connections less superuser_reserved_connections, on PostgreSQL; None elsewhere or unreadable."""
    if engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            most = int(connection.execute(text("show max_connections")).scalar_one())
            reserved = int(connection.execute(text("show superuser_reserved_connections")).scalar_one())
    except (DBAPIError, ValueError):
        return None
    return most - reserved


def broadcast_warning(broadcast_url: str) -> str | None:
    """Said at start when the Redis of FORUM_BROADCAST_URL does not answer (forum serves anyway,
    and subscribes as soon as it does)."""
    if not broadcast_url:
        return None
    import redis

    client = redis.Redis.from_url(broadcast_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure: say it, and serve
        return (f"Redis at FORUM_BROADCAST_URL does not answer ({error}); changes made in other processes "
                "will reach this one's pages once it does")
    finally:
        client.close()
    return None
