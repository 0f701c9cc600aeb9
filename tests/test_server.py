"""How forum is served: the settings ``forum serve`` and the benchmarks share."""

from __future__ import annotations

import gc

import pytest

from forum import server


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_serve_tunes_the_collector_and_runs_uvicorn_with_the_live_room_settings(monkeypatch, restore_gc):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    app = object()
    server.serve(app, "127.0.0.1", 8123, log_level="warning", backlog=4096)
    assert calls == [(app, {"host": "127.0.0.1", "port": 8123, "ws": "websockets-sansio", "log_level": "warning",
                            "ws_per_message_deflate": False, "backlog": 4096})]
    # What existed when serving began is out of every later collection; young ones are rarer.
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (server.YOUNG_THRESHOLD, 10, 10)
