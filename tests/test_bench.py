"""The live-room benchmark runs end to end with a handful of tablets and prints its figures."""

from __future__ import annotations

import re
import threading

import pytest
from click.testing import CliRunner

from forum.bench import harness
from forum.cli import main

pytestmark = pytest.mark.slow


def test_bench_live_smoke():
    # In a thread of its own: the browser tests' Playwright may hold this thread's event loop.
    results = []
    thread = threading.Thread(target=lambda: results.append(
        CliRunner().invoke(main, ["bench", "live", "--tablets", "5", "--actions", "4"])))
    thread.start()
    thread.join(120)
    result = results[0]
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "5 tablets" in out
    assert re.search(r"forum: action → last tablet\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"bare websockets broadcast\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"ratio p50 forum/bare: [\d.]+", out)
    assert re.search(r"server memory per tablet: -?[\d.]+ KB", out)


def test_bench_vote_smoke():
    results = []
    thread = threading.Thread(target=lambda: results.append(
        CliRunner().invoke(main, ["bench", "vote", "--voters", "12", "--spread", "0.5", "--rounds", "2"])))
    thread.start()
    thread.join(180)
    result = results[0]
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert out.count("totals exact: yes") == 2
    assert re.search(r"ballots 12 / 12 eligible", out)
    assert re.search(r"cast latency ms: p50 [\d.]+ · p99 [\d.]+", out)
    assert re.search(r"median of 2 rounds: cast latency ms p50 [\d.]+ · p99 [\d.]+ \(bare p50 [\d.]+", out)
    assert re.search(r"bare HTTP server, same schedule and \d+-byte replies: p50 [\d.]+ · p99 [\d.]+ ms · "
                     r"ratio p50 forum/bare [\d.]+", out)


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert harness.percentile(values, 50) in (50.0, 51.0)
    assert harness.percentile(values, 95) in (95.0, 96.0)
    assert harness.percentile(values, 100) == 100.0


def test_bench_pages_smoke():
    results = []
    thread = threading.Thread(target=lambda: results.append(
        CliRunner().invoke(main, ["bench", "pages", "--requests", "5", "--seconds", "0.3", "--clients", "2"])))
    thread.start()
    thread.join(300)
    result = results[0]
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "the small demo" in out
    number = r"\s+[\d.]+"
    for label in ("community home", "community home, signed in", "issue page", "minutes", "dashboard: committee",
                  "dashboard: community", "dashboard: street", "dashboard: district", "issues: community, open",
                  "issues: district, open", "API: issues"):
        assert re.search(rf"^{re.escape(label)}{number * 9}", out, re.MULTILINE), label
    assert re.search(r"dashboard: district.*<300 (ok|MISSED)", out)
    assert re.search(r"throughput ratio to the bare page: lowest [\d.]+, target at least 0.50", out)


def test_bench_pages_refuses_a_database_that_is_not_there():
    result = CliRunner().invoke(main, ["bench", "pages", "--db", "/nonexistent/forum.db"])
    assert result.exit_code == 2
    assert "no such file" in result.output
