"""The tests' own PostgreSQL databases (tests/databases.py): what a test leaves connected is cut off
when the test ends, not when the background drop gets to it; the server has a hundred connections
for every worker of the suite and every other user of it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL


def test_a_dropped_database_keeps_no_connection(postgres_databases):
    url = postgres_databases.fresh("leftover")
    # Connections a finished test left open: one checked out and never returned, one idle in a pool.
    leftover = create_engine(url)
    held = leftover.connect()
    held.execute(text("select 1"))
    with leftover.connect() as idle:
        idle.execute(text("select 1"))
    assert postgres_databases.connected(url) == 2
    # The drop itself waits its turn in a thread of its own: held back here, as behind other drops.
    gate = threading.Event()
    postgres_databases.dropper.submit(gate.wait)
    try:
        postgres_databases.drop(url)
        assert postgres_databases.connected(url) == 0
    finally:
        gate.set()
        held.invalidate()  # its server end is gone: closed here rather than by a finalizer later
        leftover.dispose()


def test_only_its_own_databases_are_dropped(postgres_databases):
    with pytest.raises(ValueError, match="not made by these tests"):
        postgres_databases.drop(make_url(POSTGRES_URL).render_as_string(hide_password=False))
