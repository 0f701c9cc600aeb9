"""How much CPU each page of ``forum bench pages`` costs, with its queries, in this process.

    PYTHONPATH=. python tools/page_cpu.py sqlite:////tmp/district.db            # every page
    PYTHONPATH=. python tools/page_cpu.py sqlite:////tmp/district.db dashboard 20
    PROFILE=40 PYTHONPATH=. python tools/page_cpu.py sqlite:///forum.db "issue page"   # and cProfile

The views run inline instead of in the thread pool, so one thread does all the work and cProfile
sees it; the figure is CPU time (not wall time) per request, the lowest of five batches, which a
machine busy with other work changes least. The database must have been upgraded
(``forum db upgrade``) and hold the demo's sign-in ``facilitator`` for the signed-in page.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import sys
import time

from sqlalchemy import event

import forum.web as web
from forum import db as database
from forum.app import create_app
from forum.bench.pages import SIGN_IN, targets
from forum.settings import Settings


async def _inline(func, *args):
    return func(*args)


web.run_in_threadpool = _inline  # the views in this thread, where cProfile and process_time see them


def _scope(app, method: str, path: str, headers: list) -> dict:
    path, _, query = path.partition("?")
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), *headers], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000), "state": {}, "app": app}


async def call(app, path: str, cookie: str = "", method: str = "GET", body: bytes = b"") -> dict:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    if body:
        headers += [(b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(len(body)).encode())]
    out: dict = {"body": b""}
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], message["headers"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(_scope(app, method, path, headers), receive, send)
    return out


async def main(url: str, only: str, n: int) -> None:
    engine = database.make_engine(url)
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, statement, *_a: queries.append(statement))
    app = create_app(Settings(database_url=url, secret_key="bench", language="zh-Hans"), engine=engine)
    login = await call(app, "/login", method="POST",
                       body=f"username={SIGN_IN[0]}&password={SIGN_IN[1]}".encode())
    cookie = "; ".join(v.decode().split(";")[0] for k, v in login.get("headers", []) if k == b"set-cookie")
    batch = max(1, n // 5)
    for target in targets(url):
        if only not in target.label:
            continue
        own = cookie if target.signed_in else ""
        for _ in range(3):
            await call(app, target.path, own)
        queries.clear()
        page = await call(app, target.path, own)
        count = len(queries)
        best = []
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(batch):
                await call(app, target.path, own)
            best.append((time.process_time() - t0) * 1000 / batch)
        print(f"{target.label:40} {page['status']} {len(page['body']) / 1024:6.1f} KB {count:4d} queries "
              f"{min(best):7.1f} ms CPU")
        if os.environ.get("PROFILE"):
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(batch):
                await call(app, target.path, own)
            profile.disable()
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                int(os.environ["PROFILE"]))
            print(text.getvalue())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "",
                     int(sys.argv[3]) if len(sys.argv) > 3 else 50))
