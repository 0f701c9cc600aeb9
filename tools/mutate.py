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
DEFAULT_TESTS = ["tests/test_ballot_path.py", "tests/test_vote_setup.py", "tests/test_vote_closer.py",
                 "tests/test_verification.py", "tests/test_electorate.py", "tests/test_secrecy.py", "tests/test_join.py",
                 "tests/test_ballot_box_stress.py", "tests/test_votes.py", "tests/test_votes_postgres.py"]


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    old: str
    new: str


def m(name: str, module: str, old: str, new: str) -> Mutant:
    return Mutant(name, module, old, new)


B = "forum/ballot_box.py"
# forum/votes/: one module per concern
VC, VT, VS, VL = "forum/votes/casting.py", "forum/votes/tablets.py", "forum/votes/staff.py", "forum/votes/lifecycle.py"
VU, VH, VR, VX = "forum/votes/setup.py", "forum/votes/choices.py", "forum/votes/results.py", "forum/votes/closer.py"
VF, E, S = "forum/verification.py", "forum/electorate.py", "forum/secrecy.py"
MUTANTS = [
    # ---- forum/ballot_box.py
    m("box: device of another meeting counted (meeting filter dropped)", B,
      "select(Attendance).where(Attendance.meeting_id == vote.meeting_id,\n"
      "                                            col(Attendance.device_token).in_(sorted(tokens))))\n"
      "    return {a.device_token: a for a in rows if a.meeting_id == vote.meeting_id and a.device_token in tokens}",
      "select(Attendance).where(col(Attendance.device_token).in_(sorted(tokens))))\n"
      "    return {a.device_token: a for a in rows if a.device_token in tokens}"),
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
    # ---- forum/votes/: who may cast
    m("votes: single cast not re-checked open under the write lock", VC,
      "    try:\n        still_open(db, vote)\n        if serial is not None:",
      "    try:\n        if serial is not None:"),
    m("votes: batch not re-checked open under the write lock", VT,
      "        return counted\n    still_open(db, vote)\n", "        return counted\n"),
    m("votes: cast on a vote that is not open", VC,
      "    if not castable(vote, now()):\n        raise not_open(vote)\n", ""),
    m("votes: a batch cast on a vote past its closing time", VT,
      "    if not castable(vote, now()):\n        for t in batch:", "    if vote.status != VoteStatus.open:\n        for t in batch:"),
    m("votes: a batch's late arrivals committed in the middle of it", VT,
      "    _join(db, vote, late)\n    table = VoteReceipt.__table__", "    _join(db, vote, late)\n    db.commit()\n    table = VoteReceipt.__table__"),
    m("votes: ineligible voter's ballot counted", VC,
      "    if elector is None:\n        raise VoteRefused(\"ineligible\", N_(\"This voter is not eligible in this vote.\"), \"voter\")",
      "    if elector is None:\n        elector = VoteElector(vote_id=vote.id, voter_key=voter_key, label=voter_key)"),
    m("votes: tablet gets ballots of proxies other tablets hold", VT,
      "if p.holder_attendance_id != attendance.id or (own is not None", "if (own is not None"),
    m("votes: principal who gave a proxy keeps their own ballot", VT,
      "        if given is None or given.holder_attendance_id == attendance.id:", "        if True:"),
    m("votes: proxy for a voter who has voted", VS,
      "    elif has_voted(db, vote, principal_key):\n        errors[\"principal\"] = gettext(\"This voter has voted already.\")\n",
      ""),
    m("votes: proxy holder checked in at another meeting", VS,
      "if holder is None or holder.meeting_id != vote.meeting_id:", "if holder is None:"),
    m("votes: voter holds their own proxy", VS,
      "elif principal is not None and voter_key_for(db, vote, holder) == principal_key:", "elif False:"),
    m("votes: second proxy for one voter", VS,
      "    elif db.get(VoteProxy, (vote.id, principal_key)) is not None:", "    elif False:"),
    m("votes: shared tablet takes a stale or forged nonce", VS,
      "if not nonce or vote.kiosk_nonce != nonce or not vote.kiosk_voter:", "if not vote.kiosk_voter:"),
    m("votes: shared tablet opened for a voter who has voted", VS,
      "    if has_voted(db, vote, voter_key):\n        return gettext(\"This voter has voted already.\")\n    try:\n        verification.check_ballot(",
      "    try:\n        verification.check_ballot("),
    m("votes: double tap in a batch counted twice", VT, "fresh.setdefault(t.voter_key, t)", "fresh[id(t)] = t"),
    m("votes: secret ballot changed", VC, "    if vote.secret or serial is not None:", "    if serial is not None:"),
    m("votes: change allowed where the vote forbids it", VC, "        if not vote.allow_change:", "        if False:"),
    m("votes: paper serial entered twice", VC,
      "    except IntegrityError:\n        raise VoteRefused(\"duplicate_serial\"",
      "    except IntegrityError:\n        return\n        raise VoteRefused(\"duplicate_serial\""),
    m("votes: secret paper serial entered twice", VC,
      "    if outcome == \"duplicate_serial\":\n        raise", "    if False:\n        raise"),
    # ---- forum/votes/: who is eligible, how it counts
    m("votes: owners' rule with one ballot per person passes the form", VU,
      "(scope == \"attendance\" or counting_unit != \"household\")", "scope == \"attendance\""),
    # (A late arrival joining a closed vote is no longer a mutant worth planting: only a cast, which
    # checks the vote is open first, or staff admitting someone to an open vote, adds one.)
    m("votes: late arrival joins although not counted among those present", VT,
      "    if not verification.counts_present(vote, attendance):\n        return None\n    return elector_for_attendance",
      "    return elector_for_attendance"),
    m("votes: tally takes the weight back with the wrong sign", VC,
      "    bump(db, vote, old, elector, -1)", "    bump(db, vote, old, elector, +1)"),
    m("votes: batch counts area as heads", VT, "        weight[1] += elector.area_centi or 0",
      "        weight[1] += elector.heads"),
    m("votes: closing twice allowed", VL, "    if done.rowcount != 1:\n        if lazy:", "    if False:\n        if lazy:"),
    m("votes: closing time reached is not a close", VL,
      "vote.closes_at is not None and vote.closes_at <= at", "vote.closes_at is not None and vote.closes_at < at"),
    m("votes: the closer leaves a vote open at its closing minute", VX,
      "col(Vote.closes_at) <= at", "col(Vote.closes_at) < at"),
    m("votes: the closer closes a vote another closer closed", VL,
      "Vote.id == vote.id, Vote.status == VoteStatus.open)\n                      .values(status=VoteStatus.closed",
      "Vote.id == vote.id)\n                      .values(status=VoteStatus.closed"),
    m("votes: a closing time of now accepted", VU, "if closes_at <= at:", "if closes_at < at:"),
    m("votes: several-of takes more than its maximum", VH,
      "if vote.max_choices and len(picked) > vote.max_choices:", "if vote.max_choices and len(picked) > vote.max_choices + 1:"),
    m("votes: one-of takes a blank ballot", VH, "        if len(picked) != 1:", "        if len(picked) > 1:"),
    m("votes: unknown choice accepted", VH,
      "        if s not in keys:\n            raise", "        if s not in keys and False:\n            raise"),
    m("votes: show of hands beyond 100000", VS, "n < 0 or n > HANDS_MAX", "n < 0"),
    m("votes: exact count uses tallies on close", VR, "    if exact and not vote.secret:", "    if False:"),
    # ---- forum/verification.py: who may cast a binding ballot
    m("verification: a self-declared attendance allowed in a binding vote", VF,
      "    if not attendance.verified:\n        return set()", "    if False:\n        return set()"),
    m("verification: a person typed on a tablet taken at its word", VF,
      "return attendance.verified or attendance.checked_in_by != \"self\"", "return True"),
    m("verification: proxy check skipped (every tablet ballot checked as a proxy)", VF,
      "\"proxy\" if t._ballot.proxy else \"tablet\"", "\"proxy\""),
    m("verification: shared tablet allowed without a verified resident present", VF,
      "return None if verified_present else VoteRefused(", "return None if True else VoteRefused("),
    m("verification: paper ballot of a binding vote without a serial", VF,
      "return None if serial else VoteRefused(", "return None if True else VoteRefused("),
    m("verification: is_binding misses household counting", VF,
      "vote.scope in (\"community\", \"building\", \"unit\")\n            or vote.counting_unit == \"household\")",
      "vote.scope in (\"community\", \"building\", \"unit\"))"),
    m("verification: a verified buyer of a developer unit casts the developer's ballot", VF,
      "return keys - {None, electorate.DEVELOPER_KEY}", "return keys - {None}"),
    m("verification: counts_present admits every guest", VF,
      "return vote.guests_count or attendance.admitted or attendance.verified", "return True"),
    m("verification: shared tablet offered for every voter of a binding vote", VF,
      "    keys = verified_keys(db, vote)\n    return [e for e in electors if e.voter_key in keys]",
      "    return list(electors)"),
    m("verification: a resident verified at another meeting counts as present", VF,
      "Attendance.meeting_id == vote.meeting_id, Attendance.verified)", "Attendance.verified)"),
    m("verification: a revoked verification still verifies", VF,
      "    attendance.verified = False\n", ""),
    # ---- forum/electorate.py: owners counted as the law counts them
    m("electorate: co-owners counted twice", E,
      "        for o in owners_of(units):\n",
      "        for o in [Owner(f\"p{p}\", o.units, frozenset({p}), o.reasons) if len(o.people) > 1 else o\n"
      "                  for o in owners_of(units) for p in (sorted(o.people) or [0])]:\n"),
    m("electorate: developer units not merged", E,
      "    if developer:\n        out.append((position[developer[0].id], Owner(DEVELOPER_KEY, tuple(developer), frozenset(), (DEVELOPER,))))",
      "    for u in developer:\n        out.append((position[u.id], Owner(f\"h{u.id}\", (u,), frozenset(), ())))"),
    m("electorate: one owner's units not merged", E,
      "                if a != b:\n                    parent[max(a, b)]", "                if False:\n                    parent[max(a, b)]"),
    m("electorate: area of a merged owner not summed", E,
      "return sum(u.area_centi for u in self.units)", "return self.units[0].area_centi"),
    m("electorate: a buyer of a developer unit given the developer's ballot", E,
      "    keys.discard(DEVELOPER_KEY)\n", ""),
    m("electorate: non-owner residents in a person-counted scope", E,
      "            for person_id in sorted(owned.get(h.id, ())):",
      "            for person_id in sorted(owned.get(h.id, set()) | set(db.exec(select(Person.id).where(Person.household_id == h.id)))):"),
    m("electorate: developer-held units' registered owners in a person-counted scope", E,
      "        if not h.developer_held:\n            for person_id", "        if True:\n            for person_id"),
    m("electorate: unit scope ignores the unit", E,
      "    if vote.scope == \"unit\":\n        q = q.where(Household.unit == vote.scope_unit)\n", ""),
    m("electorate: building scope ignores the building", E,
      "    if vote.scope in (\"building\", \"unit\"):\n        q = q.where(Household.building == vote.scope_building)\n", ""),
    # ---- forum/secrecy.py: secret ballots written in batches of at least K voters
    m("secrecy: a batch written with fewer than K voters", S,
      "if len(waiting) < 2 * self.batch:", "if len(waiting) < self.batch:"),
    m("secrecy: receipts written in arrival order", S,
      "ordered = sorted(slips, key=lambda s: s.voter_key)", "ordered = list(slips)"),
    m("secrecy: a waiting secret ballot replaced by a second", S,
      "if s.voter_key in voted or s.voter_key in urn.keys(vote.id):", "if s.voter_key in voted:"),
    m("secrecy: a paper serial waiting in the urn entered again", S,
      "elif s.serial and (s.serial in used or s.serial in urn.serials(vote.id)):", "elif s.serial and s.serial in used:"),
    m("secrecy: a batch that failed to write is lost", S,
      "                urn._put_back(vote.id, due)\n", ""),
    m("secrecy: a batch written into a vote closed meanwhile", S,
      "            db.rollback()\n            return None", "            pass"),
    m("secrecy: an open secret vote shows its counts", S,
      "vote.results_while_open and not vote.secret", "vote.results_while_open"),
    m("secrecy: a resident verified at another meeting reads named ballots", S,
      "attendance.verified and attendance.meeting_id == vote.meeting_id", "attendance.verified"),
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
