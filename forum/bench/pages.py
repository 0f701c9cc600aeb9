"""Benchmark of pages: how long forum's pages take, and how many it serves, against a bare page.

``forum bench pages`` serves a database (``--db``, e.g. one ``forum demo --size district`` built,
or else a fresh small demo) with forum in another process on 127.0.0.1, and alongside it a bare
Starlette + Jinja app under the same uvicorn, whose one page renders a table of rows to the same
size as the forum page it is compared with, and does nothing else. For each forum page (a
community's home, an issue, the minutes, the dashboards of a committee, a community, a street and
the district, issue lists with filters, the API's issue list) it measures, each forum phase
followed by the bare page's so that whatever else loads the machine weighs on both alike:

* latency: one client, requests one after another: p50 and p95 (the time a page takes to serve);
* throughput: ``--clients`` clients at once on keep-alive connections for ``--seconds``:
  requests a second, and its ratio to the bare page's.

The clients share this process, hand-rolled (httpx costs more CPU a request than a bare page
does), so on a small machine their own work weighs on both servers' figures alike.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from forum.bench.harness import (
    FORUM_SERVER,
    HOST,
    cpu_model,
    cpu_seconds,
    free_port,
    percentile,
    start,
    wait_for_port,
)

# The floor: Starlette and Jinja under the same uvicorn (forum.server.serve), an async endpoint
# rendering a page of rows (escaped text, links, a loop) to the size asked for, from data it keeps
# in memory: what any Starlette + Jinja page costs before it asks a database anything.
BARE_SERVER = """
import sys
from functools import cache
from jinja2 import DictLoader, Environment, select_autoescape
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from forum.server import serve
PAGE = '''<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="/static/forum.css"></head><body><header><nav>{% for link in nav %}
<a href="{{ link.href }}">{{ link.label }}</a>{% endfor %}</nav></header><main><h1>{{ title }}</h1>
<table>{% for row in rows %}<tr><td><a href="/issues/{{ row.id }}">{{ row.title }}</a></td>
<td>{{ row.status }}</td><td>{{ row.when }}</td></tr>{% endfor %}</table></main></body></html>'''
templates = Jinja2Templates(env=Environment(loader=DictLoader({"page.html": PAGE}),
                                            autoescape=select_autoescape(["html"])))
@cache
def rows(size):
    return [{"id": i, "title": f"楼道灯不亮 <{i}> & 电梯异响", "status": "处理中", "when": "2026年11月30日 19:30"}
            for i in range(max(1, (size - 600) // 130))]
NAV = [{"href": f"/c/{i}", "label": f"社区 {i}"} for i in range(6)]
async def bare(request):
    size = request.path_params["size"]
    return templates.TemplateResponse(request, "page.html", {"title": "议事厅", "nav": NAV, "rows": rows(size)})
app = Starlette(routes=[Route("/{size:int}", bare)])
serve(app, "127.0.0.1", int(sys.argv[1]), log_level="warning", backlog=4096)
"""

CLIENTS = 8
SIGN_IN = ("facilitator", "demo1234")  # the demo's staff sign-in, for the pages staff see


@dataclass
class Target:
    label: str
    path: str
    kind: str  # "page", "dashboard" or "list": what target its p95 is held to
    signed_in: bool = False


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)  # ms, one client
    per_second: float = 0.0  # requests a second, CLIENTS clients
    cpu_ms: float = 0.0  # the server's CPU time per request while they asked
    ratio: float = 0.0  # to the bare page's requests a second: the median of rounds taken in turn
    size: int = 0
    status: int = 0


# p95 the issue sets at district scale on a 2-core machine (#13): None for no target.
TARGET_P95_MS = {"dashboard": 300.0, "list": 150.0, "page": None}


# ---------------------------------------------------------------- the pages, found in the database


def targets(url: str, today: date | None = None) -> list[Target]:
    """The pages to measure, chosen from what the database holds: the community with the most
    issues, its busiest issue and committee, its latest held meeting's minutes, the street above it
    and the district at the top."""
    from sqlmodel import Session, col, func, select

    from forum import db as database
    from forum import figures
    from forum.models import Area, AreaKind, Committee, Issue, IssueEvent, Meeting, MeetingStatus

    engine = database.make_engine(url)
    try:
        with Session(engine) as db:
            community_id = db.exec(select(Issue.community_id).group_by(Issue.community_id)
                                   .order_by(func.count().desc()).limit(1)).first()
            if community_id is None:
                raise RuntimeError("the database holds no issues: build it with `forum demo` first")
            community = db.get(Area, community_id)
            street = db.get(Area, community.parent_id) if community.parent_id else None
            district = db.exec(select(Area).where(Area.kind == AreaKind.district).order_by(Area.id)).first()
            issue_id = db.exec(select(IssueEvent.issue_id).join(Issue, Issue.id == IssueEvent.issue_id)
                               .where(Issue.community_id == community.id).group_by(IssueEvent.issue_id)
                               .order_by(func.count().desc()).limit(1)).first()
            committee_id = db.exec(select(Committee.id).join(Issue, Issue.committee_id == Committee.id)
                                   .where(Committee.community_id == community.id).group_by(Committee.id)
                                   .order_by(func.count().desc()).limit(1)).first()
            meeting_id = db.exec(select(Meeting.id).where(Meeting.community_id == community.id,
                                                          Meeting.status == MeetingStatus.ended)
                                 .order_by(col(Meeting.starts_at).desc()).limit(1)).first()
            category = db.exec(select(Issue.category).where(Issue.community_id == community.id)
                               .group_by(Issue.category).order_by(func.count().desc()).limit(1)).first()
    finally:
        engine.dispose()
    # The quarter before today's: a whole one, as a district reads its figures.
    quarter = figures.quarters_ending(figures.quarter_of(today or date.today()), 2)[0].label
    slug = community.slug
    out = [Target("community home", f"/c/{slug}", "page"),
           Target("community home, signed in", f"/c/{slug}", "page", signed_in=True)]
    if issue_id:
        out.append(Target("issue page", f"/issues/{issue_id}", "page"))
    if meeting_id:
        out.append(Target("minutes", f"/meetings/{meeting_id}/minutes", "page"))
    if committee_id:
        out.append(Target("dashboard: committee", f"/committees/{committee_id}/dashboard?quarter={quarter}",
                          "dashboard"))
    out.append(Target("dashboard: community", f"/c/{slug}/dashboard?quarter={quarter}", "dashboard"))
    if street is not None and street.kind == AreaKind.street:
        out.append(Target("dashboard: street", f"/a/{street.slug}/dashboard?quarter={quarter}", "dashboard"))
    if district is not None:
        out.append(Target("dashboard: district", f"/a/{district.slug}/dashboard?quarter={quarter}", "dashboard"))
    out.append(Target("issues: community, open", f"/c/{slug}/issues?status=open", "list"))
    if category:
        out.append(Target("issues: community, category", f"/c/{slug}/issues?category={category}", "list"))
    if district is not None:
        out.append(Target("issues: district, open", f"/a/{district.slug}/issues?status=open", "list"))
        out.append(Target("issues: district, resolved in quarter",
                          f"/a/{district.slug}/issues?status=resolved&resolved_from="
                          f"{_quarter_bounds(quarter)[0]}&resolved_to={_quarter_bounds(quarter)[1]}", "list"))
    out.append(Target("API: issues", "/api/v1/issues", "list"))
    out.append(Target("API: issues, open in community", f"/api/v1/issues?community={slug}&status=open", "list"))
    return out


def _quarter_bounds(label: str) -> tuple[str, str]:
    from forum import figures

    period = figures.parse_quarter(label)
    return period.start.isoformat(), period.end.isoformat()


def demo_database(workdir: str) -> str:
    """A fresh small demo (the one ``forum demo`` serves), for when no database is given."""
    from sqlmodel import Session

    from forum import db as database
    from forum import demo

    url = f"sqlite:///{workdir}/bench.db"
    engine = database.make_engine(url)
    database.upgrade(engine)
    with Session(engine) as db:
        demo.seed(db)
        db.commit()
    engine.dispose()
    return url


# ---------------------------------------------------------------- the clients


class Connection:
    """One keep-alive HTTP/1.1 connection, GET only."""

    def __init__(self, port: int, cookie: str = "") -> None:
        self.port = port
        self.cookie = cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        return self

    async def get(self, path: str) -> tuple[int, int]:
        """(status, body size) of one GET."""
        cookie = f"Cookie: {self.cookie}\r\n" if self.cookie else ""
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{cookie}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:"))
        await self.reader.readexactly(length)
        return int(lines[0].split()[1]), length

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def latencies(port: int, path: str, n: int, cookie: str = "") -> list[float]:
    one = await Connection(port, cookie).open()
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            await one.get(path)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        one.close()
    return out


async def throughput(port: int, pid: int, path: str, clients: int, seconds: float,
                     cookie: str = "") -> tuple[float, float]:
    """Requests a second that ``clients`` clients at once get answered within ``seconds``, and the
    server's CPU milliseconds per request meanwhile (what a busy machine changes least)."""
    connections = [await Connection(port, cookie).open() for _ in range(clients)]
    done = 0
    cpu = cpu_seconds(pid)
    t0 = time.perf_counter()
    deadline = t0 + seconds

    async def client(c: Connection) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await c.get(path)
            done += 1

    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        for c in connections:
            c.close()
    elapsed = time.perf_counter() - t0
    return done / elapsed, 1000 * (cpu_seconds(pid) - cpu) / max(done, 1)


ROUNDS = 5


async def paired(forum: Figures, bare: Figures, mine: tuple, theirs: tuple, clients: int, seconds: float) -> None:
    """Throughput of forum's page and the bare page, in ROUNDS short rounds taken in turn, so that
    whatever else the machine does at a moment weighs on both: each one's median requests a second,
    the median of the rounds' ratios, the CPU per request over all rounds."""
    rounds: list[tuple[float, float]] = []
    spent = {"forum": [0.0, 0.0], "bare": [0.0, 0.0]}
    for _ in range(ROUNDS):
        got = []
        for name, (port, pid, path, cookie) in (("forum", mine), ("bare", theirs)):
            per_second, cpu_ms = await throughput(port, pid, path, clients, seconds / ROUNDS, cookie)
            got.append(per_second)
            spent[name][0] += cpu_ms * per_second  # CPU ms a second, to weigh each round by its requests
            spent[name][1] += per_second
        rounds.append((got[0], got[1]))
    forum.per_second = statistics.median(r[0] for r in rounds)
    bare.per_second = statistics.median(r[1] for r in rounds)
    forum.ratio = statistics.median(r[0] / r[1] if r[1] else float("nan") for r in rounds)
    forum.cpu_ms = spent["forum"][0] / max(spent["forum"][1], 1e-9)
    bare.cpu_ms = spent["bare"][0] / max(spent["bare"][1], 1e-9)


async def sign_in(port: int) -> str:
    """The session cookie of the demo's staff sign-in, or "" where the database has no such user."""
    import httpx

    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=120) as client:
        r = await client.post("/login", data={"username": SIGN_IN[0], "password": SIGN_IN[1]})
        if r.status_code != 303:
            return ""
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


# ---------------------------------------------------------------- the run


async def bench(url: str, pages: list[Target], requests: int, seconds: float, clients: int,
                progress: Callable[[str], None], fresh: bool = False) -> list[tuple[Target, Figures, Figures]]:
    port, bare_port = free_port(), free_port()
    # The harness's forum server reads its database from the environment, as `forum serve` does.
    env = {**os.environ, "FORUM_DATABASE_URL": url, "FORUM_SECRET_KEY": "bench", "FORUM_LANGUAGE": "zh-Hans"}
    # Fresh: no page kept (forum.page_cache), each request rendered as the first reader after a change is.
    env["FORUM_PAGE_CACHE_MB"] = "0" if fresh else env.get("FORUM_PAGE_CACHE_MB", "64")
    env.pop("FORUM_BROADCAST_URL", None)
    server = start(FORUM_SERVER, str(port), env=env)
    bare_server = start(BARE_SERVER, str(bare_port))
    out = []
    try:
        # A busy machine may take a while to start a server: the bench waits rather than fail.
        await wait_for_port(port, server, timeout=180)
        await wait_for_port(bare_port, bare_server, timeout=180)
        cookie = await sign_in(port)
        for target in pages:
            if target.signed_in and not cookie:
                continue
            own = cookie if target.signed_in else ""
            forum, bare = Figures(), Figures()
            warm = await Connection(port, own).open()
            for _ in range(3):  # templates compiled, caches filled, before anything is timed
                forum.status, forum.size = await warm.get(target.path)
            warm.close()
            if forum.status != 200:
                raise RuntimeError(f"{target.label}: {target.path} answered {forum.status}")
            bare_path = f"/{forum.size}"
            for _ in range(3):
                bare.status, bare.size = await (one := await Connection(bare_port).open()).get(bare_path)
                one.close()
            forum.latencies = await latencies(port, target.path, requests, own)
            bare.latencies = await latencies(bare_port, bare_path, requests)
            await paired(forum, bare, (port, server.pid, target.path, own), (bare_port, bare_server.pid, bare_path, ""),
                         clients, seconds)
            progress(target.label)
            out.append((target, forum, bare))
    finally:
        for process in (server, bare_server):
            process.terminate()
            process.wait(10)
    return out


def report(results: list[tuple[Target, Figures, Figures]], clients: int, where: str,
           echo: Callable[[str], None], fresh: bool = False) -> list[dict]:
    kept = "every page rendered afresh (--fresh)" if fresh else "pages of the record kept until it changes"
    echo(f"forum bench pages: {where} · {os.cpu_count()} CPUs ({cpu_model()}) · SQLite · {kept}")
    echo(f"latency: one client, one request after another; throughput: {clients} clients at once, forum and the "
         f"bare page in {ROUNDS} rounds taken in turn (medians; ratio: the median of the rounds'), with the "
         "server's CPU ms per request")
    echo(f"{'page':38}{'KB':>6}{'p50 ms':>9}{'p95 ms':>9}{'bare p50':>10}{'req/s':>8}{'bare req/s':>11}"
         f"{'ratio':>7}{'CPU ms':>8}{'bare CPU':>9}{'target p95':>12}")
    rows = []
    for target, forum, bare in results:
        p50, p95 = percentile(forum.latencies, 50), percentile(forum.latencies, 95)
        ratio = forum.ratio
        goal = TARGET_P95_MS[target.kind]
        verdict = "" if goal is None else f"<{goal:.0f} {'ok' if p95 < goal else 'MISSED'}"
        echo(f"{target.label:38}{forum.size / 1024:>6.1f}{p50:>9.1f}{p95:>9.1f}"
             f"{percentile(bare.latencies, 50):>10.1f}{forum.per_second:>8.0f}{bare.per_second:>11.0f}"
             f"{ratio:>7.2f}{forum.cpu_ms:>8.1f}{bare.cpu_ms:>9.1f}{verdict:>12}")
        rows.append({"label": target.label, "path": target.path, "kind": target.kind, "p50": p50, "p95": p95,
                     "per_second": forum.per_second, "bare_per_second": bare.per_second, "ratio": ratio,
                     "target_p95": goal, "size": forum.size, "cpu_ms": forum.cpu_ms, "bare_cpu_ms": bare.cpu_ms})
    ratios = [r["ratio"] for r in rows]
    if ratios:
        echo(f"throughput ratio to the bare page: lowest {min(ratios):.2f}, target at least 0.50")
    return rows


def run_pages(db: str | None = None, requests: int = 40, seconds: float = 3.0, clients: int = CLIENTS,
              only: str = "", echo: Callable[[str], None] = print, fresh: bool = False) -> list[dict]:
    """Measure every page (or those whose label holds ``only``); returns the table's rows."""
    workdir = None
    try:
        if db:
            url = db if "://" in db else f"sqlite:///{os.path.abspath(db)}"
            where = url.rsplit("/", 1)[-1]
        else:
            workdir = tempfile.mkdtemp(prefix="forum-bench-pages-")
            url = demo_database(workdir)
            where = "the small demo"
        pages = [t for t in targets(url) if only in t.label]
        results = asyncio.run(bench(url, pages, requests, seconds, clients,
                                    progress=lambda label: None, fresh=fresh))
        return report(results, clients, where, echo, fresh)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
