"""Hostile input to every route: no 500, no unhandled exception, no unbounded work, nothing half-stored.

Every route of the route table is called (by a role allowed to reach its checks) with forms built by
hypothesis from the fields the route is known to take and those found by parsing every page's forms:
fields replaced by huge, negative and out-of-range numbers, NUL and control characters, invalid
UTF-8, very long strings, HTML and script, SQL-ish strings, unicode oddities and empty values;
fields left out, given twice, or sent in another encoding (multipart, or a body that is not a form
at all); ids in the path beyond what the database can hold. Room websockets get hostile handshakes
and hostile text and binary frames.

For each input: the answer is not a server error; a GET stores nothing; a refused request
(4xx) stores nothing at all (every row of every table compared); an accepted one leaves pages that
still render; and no request takes more than WORK_LIMIT seconds.

Bounded: FUZZ_EXAMPLES inputs per route (the whole file runs in about a minute here); set
``FORUM_FUZZ_EXAMPLES`` to try more.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from contextlib import contextmanager
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests import app_world
from tests.app_world import CALLS, UNSCOPED, Call, Endpoint, Server, World, url

FUZZ_EXAMPLES = int(os.environ.get("FORUM_FUZZ_EXAMPLES", "6"))
WORK_LIMIT = 10  # seconds: any request slower than this is unbounded work

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not os.environ.get("FORUM_FUZZ_EXAMPLES"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)

# ---------------------------------------------------------------- hostile values

SQLITE_MAX = 2**63 - 1
HUGE_INTS = [str(2**31), str(2**63), str(2**64), str(-(2**63) - 1), "9" * 40, "1" + "0" * 400]
NUMBERS = HUGE_INTS + [str(SQLITE_MAX), "-1", "0", "-0", "+0", "00000000001", "1e309", "NaN", "inf", "-inf", "0x10",
                       " 7 ", "1_000", "１２", "١٢", "3.5", "1,5", "²"]
TEXTS = [
    "", " ", "\x00", "a\x00b", "\x01\x02\x1f\x7f", "\x1b[31mred", "\r\n\r\n", "\t", "\u2028\u2029",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "{{ 7*7 }}", "{% raw %}",
    "' OR 1=1 --", "'; DROP TABLE issue; --", "%", "_", "\\", "%00", "../../etc/passwd",
    "\u202egnp.exe", "\ufeff", "e\u0301", "\U0001d54f\U0001f600", "\u200b\u200d", "ﷺ", "𠜎𠜱", "Ａ",
    "x" * 5000, "张" * 5000, "x" * 200_000,
]
MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]  # as stored by TEXTS below, never shown
RAW = [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"ok\xffok", b"\xe5\xbc"]

# Fields that name a row by its id, and path parameters: a value beyond SQLite's integer range here is
# harden1's fix (any id outside the database's range is a 404), not yet merged on this branch.
ID_FIELDS = {"issue", "meeting", "committee", "merge_into", "household", "entry", "request", "attendance", "holder",
             "community", "forum_format", "agenda_entry", "id"}


def hostile_value() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(NUMBERS).map(str.encode),
        st.sampled_from(TEXTS).map(lambda s: s.encode("utf-8")),
        st.sampled_from(RAW),
        st.text(st.characters(codec="utf-8"), max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.binary(max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: str(n).encode()),
    )


# ---------------------------------------------------------------- the targets


def targets() -> list:
    """Every endpoint and method of the route table, with each action of the action routes."""
    out = []
    for endpoint in app_world.endpoints():
        for method in endpoint.methods:
            actions: tuple[str | None, ...] = (None,)
            if endpoint.name == "room_console_action":
                actions = app_world.CONSOLE_ACTIONS
            elif endpoint.name == "room_tablet_action":
                actions = app_world.TABLET_ACTIONS
            for action in actions:
                out.append(pytest.param(endpoint, method, action,
                                        id=f"{endpoint.name}-{method}" + (f"-{action}" if action else "")))
    return out


# Who sends: someone who gets past the permission check, so the fuzz reaches the validation.
SENDERS = {"vote_cast": ["tablet_A"], "vote_shared_tablet_cast": ["shared_tablet_A", "admin"],
           "room_tablet_action": ["tablet_A", "anonymous"], "room_tablet_slip": ["anonymous", "tablet_A"],
           "room_shared_tablet": ["admin", "shared_tablet_A"],
           "issue_new": ["anonymous", "admin"], "join": ["anonymous"], "login": ["anonymous"],
           "room_ws": ["admin", "anonymous", "shared_tablet_A"]}

COUNTS: Counter = Counter()


@pytest.fixture(scope="module")
def world(databases, _demo_template) -> World:
    return app_world.build(databases, _demo_template)


@pytest.fixture(scope="module")
def server(world, databases):
    with Server(world, databases) as server:
        yield server
    print(f"\nfuzzing: {COUNTS['tried']} inputs tried, {COUNTS['refused']} refused (4xx), "
          f"{COUNTS['accepted']} accepted, {COUNTS['failed']} failed")


@pytest.fixture(scope="module")
def page_fields(world, server) -> dict[tuple[str, str | None], dict[str, list[str]]]:
    """The fields of every form on every page, by the route (and action) the form sends to."""
    found: dict[tuple[str, str | None], dict[str, list[str]]] = {}
    for endpoint in app_world.endpoints():
        if "GET" not in endpoint.methods or endpoint.mount or endpoint.name not in CALLS:
            continue
        for scope in ("A",):  # B's pages have the same forms
            call = CALLS[endpoint.name](world.scopes[scope], world, None)
            for role in ("admin", "tablet_A", "anonymous"):
                r = server.as_role(role).get(url(endpoint, call), params=call.query, follow_redirects=True)
                if "html" not in r.headers.get("content-type", ""):
                    continue
                for form in BeautifulSoup(r.text, "html.parser").find_all("form"):
                    method = (form.get("method") or "get").upper()
                    target = app_world.match(urlsplit(form.get("action") or str(r.url)).path, method)
                    if target is None:
                        continue
                    fields = found.setdefault((target[0].name, target[1].get("action")), {})
                    for field in form.find_all(["input", "select", "textarea", "button"]):
                        if field.get("name"):
                            option = field.find("option") if field.name == "select" else None
                            value = option.get("value", "") if option else field.get("value", "")
                            fields.setdefault(field["name"], []).append(value)
    if server.changed():  # an export read is audited: every test starts from the world as built
        server.reset()
    return found


# ---------------------------------------------------------------- sending


@contextmanager
def work_limit(what: str):
    """Fails the example if the request runs longer than WORK_LIMIT (the main thread is interrupted)."""

    def expire(_signum, _frame):
        raise AssertionError(f"{what} took more than {WORK_LIMIT} s: unbounded work")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(WORK_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def urlencoded(pairs: list[tuple[str, bytes]]) -> bytes:
    return b"&".join(quote_from_bytes(k.encode()).encode() + b"=" + quote_from_bytes(v).encode() for k, v in pairs)


def multipart(pairs: list[tuple[str, bytes]], upload: bytes | None = None) -> tuple[bytes, str]:
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v + b"\r\n"
             for k, v in pairs]
    if upload is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="register.csv"\r\n'
                     "Content-Type: text/csv\r\n\r\n".encode() + upload + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


REGISTER_HEADER = b"building,unit,room,floor_area,owner,phone"
REGISTER_ROW = [b"9", b"1", b"101", b"88.5", "测试业主".encode(), b"13800000000"]


@st.composite
def hostile_register(draw, focused: bool) -> bytes:
    """A household register (CSV): ``focused``, one bad cell in good rows under a good header, which
    reaches that cell's own check; else bad cells, headers and bytes anywhere."""
    headers = st.sampled_from([REGISTER_HEADER, "楼栋,单元,房号,面积,业主,电话".encode()])
    header = draw(headers if focused else headers | st.just(b"") | hostile_value())
    numbers = st.sampled_from(HUGE_INTS + ["-5", "1e9", "1e999999", "NaN", "0.001", "0"]).map(str.encode)
    rows = [[str(101 + n).encode() if good == b"101" else good for good in REGISTER_ROW]
            for n in range(draw(st.integers(1, 3)))]
    if focused:
        row, cell = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(REGISTER_ROW) - 1))
        rows[row][cell] = draw(numbers | numbers | hostile_value())
    else:
        rows = [[draw(hostile_value() | st.just(good)) for good in row] for row in rows]
    rows = [b",".join(cells) for cells in rows]
    return b"\n".join([header, *rows]) + draw(st.sampled_from([b"\n", b"", b"\r\n\x00"]))


@st.composite
def hostile_request(draw, known: dict[str, list[str]], path: dict[str, object], upload: bool = False):
    """A form: each known field kept, replaced, left out or given twice; maybe an unknown one; and
    maybe a path id changed; sent as a form, as multipart, or as a body that is no form."""
    pairs: list[tuple[str, bytes]] = []
    names = sorted(known)
    # One bad field in an otherwise good form reaches that field's own check; else each field's fate.
    # With a file to upload, the bad one may be the file alone.
    candidates = names + (["<the file>"] if upload else [])
    alone = draw(st.sampled_from(candidates)) if candidates and draw(st.integers(0, 3)) else None
    for name in names:
        good = (known[name][0] if known[name] else "").encode()
        fate = ("hostile" if name == alone else "keep") if alone else \
            draw(st.sampled_from(["keep", "hostile", "hostile", "drop", "twice"]))
        if fate == "keep":
            pairs.append((name, good))
        elif fate == "hostile":
            pairs.append((name, draw(hostile_value())))
        elif fate == "twice":
            pairs += [(name, draw(hostile_value())), (name, good)]
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(["x", "id", "user_id", "role", "\x00", "a" * 300])), draw(hostile_value())))
    path = dict(path)
    ids = [k for k, v in path.items() if isinstance(v, int)]
    if ids and draw(st.integers(0, 3)) == 0:
        path[draw(st.sampled_from(ids))] = draw(st.sampled_from(HUGE_INTS[:3] + ["0", str(SQLITE_MAX), "99999999"]))
    if upload:  # a file field: the file's content is the input that matters
        return pairs, path, "multipart", draw(hostile_register(focused=alone == "<the file>"))
    encoding = draw(st.sampled_from(["form", "form", "form", "multipart", "junk"]))
    return pairs, path, encoding, draw(st.binary(max_size=200)) if encoding == "junk" else b""


def send(client: TestClient, endpoint: Endpoint, method: str, path: dict, pairs, encoding: str, junk: bytes):
    address = url(endpoint, Call(path))
    if method == "GET":
        # A request line beyond what servers read (uvicorn's h11: 16 KB) never reaches the app.
        return client.get(address + "?" + urlencoded(pairs).decode()[:12_000], follow_redirects=False)
    if encoding == "multipart":
        body, content_type = multipart(pairs, junk or None)
    else:
        body, content_type = (urlencoded(pairs), "application/x-www-form-urlencoded") if encoding == "form" \
            else (junk, "application/x-www-form-urlencoded")
    return client.post(address, content=body, headers={"content-type": content_type}, follow_redirects=False)


def pages_after(world: World, scope: str, location: str) -> list[str]:
    """Where what a request stored shows: where it sent the browser, and the console."""
    s = world.scopes[scope]
    target = urlsplit(location)
    here = [target.path + (f"?{target.query}" if target.query else "")] if location.startswith("/") else []
    return here + [f"/meetings/{s.meeting_id}/run"]


# ---------------------------------------------------------------- the tests


HTTP_TARGETS = [t for t in targets() if t.values[1] != "WEBSOCKET" and not t.values[0].mount]  # static: no input


def known_fields(world: World, page_fields: dict, endpoint: Endpoint, method: str, action: str | None,
                 scope: str | None) -> tuple[Call, dict[str, list[str]]]:
    """The call that succeeds, and every field the route takes with a good value of each."""
    call = CALLS[endpoint.name](world.scopes[scope or "A"], world, action)
    known = {k: [str(v)] for k, v in ((call.query if method == "GET" else call.data) or {}).items()}
    for name, values in page_fields.get((endpoint.name, action), {}).items():
        known.setdefault(name, values)
    known.pop("file", None)  # the upload is sent as a file, below
    return call, known


def attempt(server: Server, world: World, endpoint: Endpoint, method: str, scope: str | None, role: str,
            path: dict, pairs: list[tuple[str, bytes]], encoding: str, junk: bytes) -> None:
    """Send one hostile request and check what it did: no server error, nothing half-stored, the
    pages still render; the server is back to the world afterwards."""
    what = f"{role} {method} {url(endpoint, Call(path))} {encoding} {pairs[:12]!r} {junk[:300]!r}"[:2000]
    COUNTS["tried"] += 1
    with work_limit(what):
        r = send(server.as_role(role), endpoint, method, path, pairs, encoding, junk)
    # A sign-in refused, or a person's data downloaded, is audited on purpose (app_world.AUDITED_READS).
    audited = app_world.AUDITED_READS.get(endpoint.name)
    changed = server.changed(audited)
    try:
        if r.status_code >= 500:
            raise AssertionError(f"{what}: server error {r.status_code}")
        assert not (method == "GET" and changed), f"{what}: a GET changed {changed}"
        assert not any(markup in r.text for markup in MARKUP), f"{what}: the answer shows the input as markup"
        assert not (r.status_code >= 400 and changed), f"{what}: refused ({r.status_code}) but changed {changed}"
        COUNTS["refused" if r.status_code >= 400 else "accepted"] += 1
        if changed:
            # Taken: what was stored must not break a page that shows it.
            client = server.as_role("admin")
            for page in pages_after(world, scope or "A", r.headers.get("location", "")):
                with work_limit(f"GET {page} after {what}"):
                    shown = client.get(page)
                assert shown.status_code < 500, f"GET {page} after {what}: server error {shown.status_code}"
                # What was stored is shown as text, never as markup.
                assert not any(markup in shown.text for markup in MARKUP), f"GET {page} after {what}: markup shown raw"
    except AssertionError:
        COUNTS["failed"] += 1
        raise
    finally:
        if changed or r.status_code >= 500 or (audited and server.changed()):
            server.reset()


@pytest.mark.parametrize(("endpoint", "method", "action"), HTTP_TARGETS)
def test_hostile_input_is_refused_or_taken_whole_never_a_crash(world, server, page_fields, endpoint, method, action):
    assert endpoint.name in CALLS, f"route {endpoint.name!r} has no entry in app_world.CALLS: say how to call it"
    scopes = [None] if endpoint.name in UNSCOPED else ["A", "B"]

    @FUZZ
    @given(data=st.data())
    def run(data):
        scope = data.draw(st.sampled_from(scopes))
        call, known = known_fields(world, page_fields, endpoint, method, action, scope)
        path = dict(call.path)
        pairs, path, encoding, junk = data.draw(hostile_request(known, path, method == "POST" and bool(call.files)))
        role = data.draw(st.sampled_from(SENDERS.get(endpoint.name, ["admin"])))
        attempt(server, world, endpoint, method, scope, role, path, pairs, encoding, junk)

    run()


# The extremes every field and every cell of an upload gets, one at a time, the rest of the form good:
# random search may miss one field's own check, this sweep does not.
# (Forty nines are beyond both SQLite's integers and Decimal's 28 digits.)
EXTREMES = ["9" * 40, "a\x00<script>alert(1)</script>", "x" * 100_000]
if os.environ.get("FORUM_FUZZ_EXAMPLES"):  # a longer campaign sweeps more of them
    EXTREMES += [str(2**63), "-1", "0", "", "NaN", "１２", "\u202e<script>alert(1)</script>", "\xff", "' OR 1=1 --"]


@pytest.mark.parametrize(("endpoint", "method", "action"), HTTP_TARGETS)
def test_each_field_alone_takes_each_extreme(world, server, page_fields, endpoint, method, action):
    scope = None if endpoint.name in UNSCOPED else "A"
    call, known = known_fields(world, page_fields, endpoint, method, action, scope)
    good = [(name, (values[0] if values else "").encode()) for name, values in sorted(known.items())]
    role = SENDERS.get(endpoint.name, ["admin"])[0]
    upload = method == "POST" and bool(call.files)
    register = [[str(101 + n).encode() if cell == b"101" else cell for cell in REGISTER_ROW] for n in range(2)]

    def csv(rows: list[list[bytes]]) -> bytes:
        return b"\n".join([REGISTER_HEADER, *(b",".join(row) for row in rows)]) + b"\n"

    for value in EXTREMES:
        for i, (name, _good) in enumerate(good):
            pairs = good[:i] + [(name, value.encode())] + good[i + 1:]
            attempt(server, world, endpoint, method, scope, role, dict(call.path), pairs,
                    "multipart" if upload else "form", csv(register) if upload else b"")
        for cell in range(len(REGISTER_ROW) if upload else 0):
            rows = [list(row) for row in register]
            rows[1][cell] = value.encode()
            attempt(server, world, endpoint, method, scope, role, dict(call.path), good, "multipart", csv(rows))


SOCKET_FRAMES = [t.encode() for t in TEXTS[:20]] + RAW + [b"\x00" * 70_000]


@FUZZ
@given(audience=st.one_of(st.sampled_from(app_world.SOCKET_AUDIENCES), st.sampled_from(TEXTS[:24])),
       meeting=st.sampled_from(["own", "other", "0", str(SQLITE_MAX), str(2**63)]),
       frames=st.lists(st.tuples(st.booleans(), st.sampled_from(SOCKET_FRAMES)), max_size=4),
       role=st.sampled_from(SENDERS["room_ws"]))
def test_hostile_room_sockets_are_closed_or_ignored_never_a_crash(world, server, audience, meeting, frames, role):
    """The socket only listens: any handshake is accepted or refused (1008), any frame ignored."""
    s = world.scopes["A"]
    meeting_id = {"own": s.meeting_id, "other": world.scopes["B"].meeting_id}.get(meeting, meeting)
    what = f"{role} /meetings/{meeting_id}/ws audience={audience!r} frames={[f[:20] for _t, f in frames]}"
    COUNTS["tried"] += 1
    client = server.as_role(role)
    try:
        with work_limit(what):
            with client.websocket_connect(f"/meetings/{meeting_id}/ws?audience={quote_from_bytes(audience.encode())}") \
                    as ws:
                ws.receive_text()
                for is_text, frame in frames:
                    if is_text:
                        ws.send_text(frame.decode("utf-8", "replace"))
                    else:
                        ws.send_bytes(frame)
        COUNTS["accepted"] += 1
    except WebSocketDisconnect as closed:
        if closed.code != 1008:
            COUNTS["failed"] += 1
            raise AssertionError(f"{what}: closed with {closed.code}, not a refusal") from None
        COUNTS["refused"] += 1
    except Exception as error:  # an exception in the app surfaces here in the test client
        COUNTS["failed"] += 1
        raise AssertionError(f"{what}: {error!r}") from error
    changed = server.changed()
    if changed:
        COUNTS["failed"] += 1
        server.reset()
        raise AssertionError(f"{what}: a socket changed {changed}")
