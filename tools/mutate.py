"""Plant realistic bugs in forum's ballot path one at a time and see whether the tests catch them.

    python tools/mutate.py                       # every mutant below, against the vote tests
    python tools/mutate.py --module forum/ballot_box.py --sample 8
    python tools/mutate.py --only proxy --tests tests/test_ballot_path.py

Each mutant is a fixed text replacement, listed below with why it is a realistic mistake, so the
list can be read and reviewed like any code (a generated mutant list of operator swaps is mostly
noise; these are the bugs that would decide a lift vote). For each one the script copies the
repository's tracked files once into a scratch directory, plants the mutant there, runs the chosen
tests with ``-x -q`` and a time limit, and reports it killed (a test failed), survived (all passed)
or timed out (counted as killed: the bug hung a test, which a run would notice). The working tree
is never touched. A mutant whose text is no longer in the module is reported "stale": the code
changed, and the list needs its entry rewritten.

mutmut and cosmic-ray were tried against this layout first: both want to run the whole suite per
mutant (minutes each on a small machine), and mutmut's copied tree breaks the package's paths to
templates/ and static/. A short reviewed list and a chosen test subset keep a run to minutes.
"""

# ruff: noqa: E501 - a mutant's lines are quoted as they stand in the module, however long

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The focused tests first: with -x, a mutant they kill costs seconds, not the whole vote suite.
DEFAULT_TESTS = ["tests/test_ballot_path.py", "tests/test_ballot_box_stress.py", "tests/test_votes.py",
                 "tests/test_votes_postgres.py"]


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    old: str
    new: str


def m(name: str, module: str, old: str, new: str) -> Mutant:
    return Mutant(name, module, old, new)


V, B = "forum/votes.py", "forum/ballot_box.py"
MUTANTS = [
    # ---- forum/ballot_box.py
    m("box: device of another meeting counted (meeting filter dropped)", B,
      "Attendance.meeting_id == vote.meeting_id, col(Attendance.device_token)", "col(Attendance.device_token)"),
    m("box: slips beyond the batch limit dropped", B,
      "self._slips[:self.batch_max], self._slips[self.batch_max:]", "self._slips[:self.batch_max], []"),
    m("box: a mixed batch counted against its first slip's vote", B,
      "self._count(vote_id, slips)", "self._count(batch[0].vote_id, batch)"),
    m("box: batch limit off by one", B,
      "self._slips[:self.batch_max], self._slips[self.batch_max:]",
      "self._slips[:self.batch_max + 1], self._slips[self.batch_max + 1:]"),
    m("box: failed batch not retried one by one", B,
      "                    with Session(self.engine, expire_on_commit=False) as db:\n"
      "                        answers.append(_count_batch(db, vote_id, [slip])[0])",
      "                    raise RuntimeError('not retried')"),
    m("box: no tablet answer when the vote is missing", B,
      "return [Counted(None, None, None) for _ in slips]", "return []"),
    m("box: empty device token matches", B,
      "{s.device_token for s in slips if s.device_token}", "{s.device_token for s in slips}"),
    m("box: refused batch not refreshed (stale vote in the reply)", B,
      "        if inspect(obj).expired_attributes:\n            db.refresh(obj)", "        pass"),
    m("box: stop does not wake the thread", B,
      "            self._stopping = True\n            self._ready.notify()", "            self._stopping = True"),
    # ---- forum/votes.py: who may cast
    m("votes: single cast not re-checked open under the write lock", V,
      "    try:\n        _still_open(db, vote)\n        if serial is not None:",
      "    try:\n        if serial is not None:"),
    m("votes: batch not re-checked open under the write lock", V,
      "        return counted\n    _still_open(db, vote)\n", "        return counted\n"),
    m("votes: cast on a vote that is not open", V,
      "    ensure_current(db, vote)\n    if vote.status != VoteStatus.open:\n        raise _not_open(vote)",
      "    ensure_current(db, vote)"),
    m("votes: ineligible voter's ballot counted", V,
      "    if elector is None:\n        raise VoteRefused(\"ineligible\", N_(\"This voter is not eligible in this vote.\"), \"voter\")",
      "    if elector is None:\n        elector = VoteElector(vote_id=vote.id, voter_key=voter_key, label=voter_key)"),
    m("votes: tablet gets ballots of proxies other tablets hold", V,
      "if p.holder_attendance_id != attendance.id or (own is not None", "if (own is not None"),
    m("votes: principal who gave a proxy keeps their own ballot", V,
      "        if given is None or given.holder_attendance_id == attendance.id:", "        if True:"),
    m("votes: proxy for a voter who has voted", V,
      "    elif has_voted(db, vote, principal_key):\n        errors[\"principal\"] = gettext(\"This voter has voted already.\")\n",
      ""),
    m("votes: proxy holder checked in at another meeting", V,
      "if holder is None or holder.meeting_id != vote.meeting_id:", "if holder is None:"),
    m("votes: voter holds their own proxy", V,
      "elif principal is not None and voter_key_for(db, vote, holder) == principal_key:", "elif False:"),
    m("votes: second proxy for one voter", V,
      "    elif db.get(VoteProxy, (vote.id, principal_key)) is not None:", "    elif False:"),
    m("votes: shared tablet takes a stale or forged nonce", V,
      "if not nonce or vote.kiosk_nonce != nonce or not vote.kiosk_voter:", "if not vote.kiosk_voter:"),
    m("votes: shared tablet opened for a voter who has voted", V,
      "    if has_voted(db, vote, voter_key):\n        return gettext(\"This voter has voted already.\")\n    vote.kiosk_voter",
      "    vote.kiosk_voter"),
    m("votes: double tap in a batch counted twice", V, "fresh.setdefault(t.voter_key, t)", "fresh[id(t)] = t"),
    m("votes: secret ballot changed", V, "    if vote.secret or serial is not None:", "    if serial is not None:"),
    m("votes: change allowed where the vote forbids it", V, "        if not vote.allow_change:", "        if False:"),
    m("votes: paper serial entered twice", V,
      "        raise VoteRefused(\"duplicate_serial\"", "        return\n        raise VoteRefused(\"duplicate_serial\""),
    # ---- forum/votes.py: who is eligible, how it counts
    m("votes: non-owners in a person-counted household scope", V,
      "col(Person.household_id).in_(list(by_id)), Person.is_owner)", "col(Person.household_id).in_(list(by_id)))"),
    m("votes: unit scope ignores the unit", V,
      "    if vote.scope == \"unit\":\n        q = q.where(Household.unit == vote.scope_unit)", ""),
    m("votes: owners' rule with one ballot per person passes the form", V,
      "(scope == \"attendance\" or counting_unit != \"household\")", "scope == \"attendance\""),
    m("votes: late arrival joins a closed vote", V,
      "vote.scope != \"attendance\" or vote.status != VoteStatus.open", "vote.scope != \"attendance\""),
    m("votes: tally takes the weight back with the wrong sign", V,
      "    _bump(db, vote, old, elector, -1)", "    _bump(db, vote, old, elector, +1)"),
    m("votes: batch counts area as heads", V, "        weight[1] += elector.area_centi or 0",
      "        weight[1] += elector.heads"),
    m("votes: closing twice allowed", V, "    if done.rowcount != 1:\n        if lazy:", "    if False:\n        if lazy:"),
    m("votes: closing time reached is not a close", V,
      "vote.closes_at is not None and vote.closes_at <= now()", "vote.closes_at is not None and vote.closes_at < now()"),
    m("votes: a closing time of now accepted", V, "if closes_at <= (at or now()):", "if closes_at < (at or now()):"),
    m("votes: several-of takes more than its maximum", V,
      "if vote.max_choices and len(picked) > vote.max_choices:", "if vote.max_choices and len(picked) > vote.max_choices + 1:"),
    m("votes: one-of takes a blank ballot", V, "        if len(picked) != 1:", "        if len(picked) > 1:"),
    m("votes: unknown choice accepted", V,
      "        if s not in keys:\n            raise", "        if s not in keys and False:\n            raise"),
    m("votes: show of hands beyond 100000", V, "n < 0 or n > 100000", "n < 0"),
    m("votes: exact count uses tallies on close", V, "    if exact and not vote.secret:", "    if False:"),
]


def copy_tree(dest: Path) -> None:
    """The tracked files (and untracked, not ignored ones: new tests) as they are now."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    for rel in listed:
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_tests(tree: Path, tests: list[str], timeout: float) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header",
           "-o", "addopts=", *tests]
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    failed = next((line for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR tests"))), "")
    return ("survived" if done.returncode == 0 else "killed"), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="only mutants of this module (repeatable)")
    parser.add_argument("--only", help="only mutants whose name contains this text")
    parser.add_argument("--sample", type=int, help="a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--tests", nargs="+", help=f"tests to run against each mutant (default: {DEFAULT_TESTS})")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: three times the unmutated "
                        "run's, so a busy machine is not mistaken for a hanging mutant)")
    args = parser.parse_args(argv)

    chosen = [mu for mu in MUTANTS if (not args.module or mu.module in args.module)
              and (not args.only or args.only in mu.name)]
    if args.sample and args.sample < len(chosen):
        chosen = random.Random(args.seed).sample(chosen, args.sample)
    tests = args.tests or [t for t in DEFAULT_TESTS if (ROOT / t).exists()]
    with tempfile.TemporaryDirectory(prefix="forum-mutate-") as scratch:
        tree = Path(scratch)
        copy_tree(tree)
        started = time.monotonic()
        status, failed = run_tests(tree, tests, args.timeout or 1800.0)
        if status != "survived":
            print(f"the tests fail before any mutant is planted ({status}): {failed}")
            return 2
        timeout = args.timeout or max(60.0, 3 * (time.monotonic() - started))
        print(f"unmutated run: {time.monotonic() - started:.0f} s; {len(chosen)} mutants, {timeout:.0f} s each at most")
        counts = {"killed": 0, "survived": 0, "timeout": 0, "stale": 0}
        by_module: dict[str, list[int]] = {}
        for mu in chosen:
            path = tree / mu.module
            original = path.read_text()
            if original.count(mu.old) != 1:
                counts["stale"] += 1
                print(f"STALE     {mu.module}: {mu.name} (text found {original.count(mu.old)} times)")
                continue
            path.write_text(original.replace(mu.old, mu.new))
            started = time.monotonic()
            try:
                status, failed = run_tests(tree, tests, timeout)
            finally:
                path.write_text(original)
            counts[status] += 1
            tally = by_module.setdefault(mu.module, [0, 0])
            tally[0] += status != "survived"
            tally[1] += 1
            print(f"{status.upper():9} {mu.module}: {mu.name} [{time.monotonic() - started:.0f} s] {failed}")
            if status == "survived":
                print(f"          - {mu.old.strip()!r}\n          + {mu.new.strip()!r}")
            sys.stdout.flush()
    print()
    for module, (killed, total) in sorted(by_module.items()):
        print(f"{module}: {killed}/{total} killed")
    scored = counts["killed"] + counts["timeout"] + counts["survived"]
    print(f"total: {counts['killed'] + counts['timeout']}/{scored} killed ({counts['timeout']} by timeout), "
          f"{counts['survived']} survived, {counts['stale']} stale; tests: {' '.join(tests)}")
    return 1 if counts["survived"] else 0


if __name__ == "__main__":
    sys.exit(main())
