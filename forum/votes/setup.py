"""Setting a vote up: the form, each field's check, and whether the vote can be counted as set up.

Each ``check_*`` function looks at one field (and the fields its meaning depends on) and returns
the message to show beside it, or None; those that also read a value return ``(value, message)``.
They are pure, apart from the translation of their message; :func:`check_form` gathers what they
need from the database and runs them all, and :func:`create_vote` adds the vote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from forum import counting, forms
from forum.counting import CountingError, Kind, Rule, Weighting
from forum.electorate import compute_electorate
from forum.i18n import N_, gettext
from forum.models import AgendaEntry, Household, Issue, Meeting, Vote, VoteElector, VoteStatus, now
from forum.votes.choices import OWNERS_RULES, VoteRefused, needs_area, option_ids, voters
from forum.votes.labels import CLOSINGS, KINDS, RULES, SCOPES, UNITS, WEIGHTINGS
from forum.votes.trail import audit

FIELDS = ("question", "kind", "options", "max_choices", "scope", "scope_building", "scope_unit", "counting_unit",
          "weighting", "rule", "closing", "closes_at", "agenda_entry")
FLAGS = ("secret", "results_while_open", "allow_change", "guests_count")
OPTIONS_MAX = 20
OPTION_LENGTH_MAX = 100
QUESTION_MAX = 300
CHOOSING = (Kind.ONE_OF, Kind.SEVERAL_OF)  # the kinds whose options are the vote's own
PLACES = ("building", "unit")  # the scopes that name a place of the register

# "5栋2单元", "5号楼2单元", "5幢2单元", "Building 5 Unit 2": where an issue's place names a stairwell.
_STAIRWELL = re.compile(r"(\d+)\s*(?:栋|幢|号楼|座)\s*(\d+)\s*单元|building\s*(\d+)\D+unit\s*(\d+)", re.I)


def stairwell(place: str) -> tuple[str, str] | None:
    """The building and unit a place names, if it names one."""
    m = _STAIRWELL.search(place or "")
    if m is None:
        return None
    return (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))


def blank_values(meeting: Meeting | None, issue: Issue | None = None) -> dict[str, str]:
    """A new vote's form: a show of hands in the room for a meeting; for an issue, an owners'
    decision among the households of the stairwell its place names (a lift, most often)."""
    building, unit = stairwell(issue.place) if issue is not None and stairwell(issue.place) else ("", "")
    return {"question": "", "kind": Kind.FOR_AGAINST, "options": "", "max_choices": "",
            "scope": "attendance" if meeting else "unit", "scope_building": building, "scope_unit": unit,
            "counting_unit": "person" if meeting else "household", "weighting": Weighting.HEAD,
            "rule": Rule.SIMPLE if meeting else Rule.OWNERS_MAJOR, "closing": "facilitator", "closes_at": "",
            "agenda_entry": "", "results_while_open": "on"}


# ---------------------------------------------------------------- each field's check


def check_question(text: str) -> tuple[str, str | None]:
    question = text.strip()
    if not question or len(question) > QUESTION_MAX:
        return question, gettext("Write the question, in at most %(n)d characters.") % {"n": QUESTION_MAX}
    return question, None


def check_kind(kind: str) -> str | None:
    return None if kind in KINDS else gettext("Choose what kind of vote it is.")


def check_options(kind: str, text: str) -> tuple[list[dict[str, str]], str | None]:
    """A one-of or several-of vote's options, one a line (each with its id), and what is wrong with them."""
    if kind not in CHOOSING:
        return [], gettext("Only one-of and several-of votes have options of their own.") if text.strip() else None
    texts = [line.strip() for line in text.splitlines() if line.strip()]
    options = [{"id": f"o{i}", "text": t} for i, t in enumerate(texts, start=1)]
    if not 2 <= len(texts) <= OPTIONS_MAX:
        return options, gettext("List from 2 to %(n)d options, one a line.") % {"n": OPTIONS_MAX}
    if len(set(texts)) != len(texts):
        return options, gettext("Each option may be listed only once.")
    if any(len(t) > OPTION_LENGTH_MAX for t in texts):
        return options, gettext("Keep each option to at most 100 characters.")
    return options, None


def check_max_choices(kind: str, text: str, options: int) -> tuple[int | None, str | None]:
    """How many options a several-of ballot may tick (None: any number), out of ``options``."""
    if kind != Kind.SEVERAL_OF or not text.strip():
        return None, None
    try:
        most = int(text)
    except ValueError:
        most = 0
    if not 1 <= most <= max(options, 1):
        return most, gettext("A whole number from 1 to the number of options.")
    return most, None


def check_scope(scope: str, at_meeting: bool) -> str | None:
    if scope not in SCOPES:
        return gettext("Choose who may vote.")
    if scope == "attendance" and not at_meeting:
        return gettext("A vote that runs over days has no check-in; choose households instead.")
    return None


def check_place(scope: str, building: str, unit: str, in_building: int, in_unit: int) -> dict[str, str]:
    """A building or unit scope names a place with households: ``in_building`` and ``in_unit`` are
    how many households of the community the register has there."""
    if scope not in PLACES:
        return {}
    if not building or not in_building:
        return {"scope_building": gettext("No household of this community is in building %(b)s.") % {
            "b": building or "—"}}
    if scope == "unit" and not in_unit:
        return {"scope_unit": gettext("Building %(b)s has no unit %(u)s.") % {"b": building, "u": unit or "—"}}
    return {}


def check_counting_unit(counting_unit: str) -> str | None:
    return None if counting_unit in UNITS else gettext("Choose whether each person or each household has a ballot.")


def check_weighting(weighting: str, counting_unit: str) -> str | None:
    if weighting not in WEIGHTINGS:
        return gettext("Choose how ballots are weighed.")
    if weighting != Weighting.HEAD and counting_unit == "person":
        return gettext("Floor area belongs to households; weigh by area only when each household has one ballot.")
    return None


def check_rule(rule: str, kind: str, scope: str, counting_unit: str) -> str | None:
    if rule not in RULES:
        return gettext("Choose the pass rule.")
    if kind in KINDS and kind != Kind.FOR_AGAINST and rule != Rule.CONSULTATION:
        return gettext("Only for/against votes pass or fail; count options and ratings as a consultation.")
    if rule in OWNERS_RULES and (scope == "attendance" or counting_unit != "household"):
        return gettext("The owners' rules count every household of a building, unit or community "
                       "(one ballot per household); choose that scope and counting unit.")
    return None


def check_secret_change(secret: bool, allow_change: bool) -> str | None:
    """Checked on the "allow change" field: a secret ballot cannot be changed."""
    if secret and allow_change:
        return gettext("A secret ballot cannot be changed: nothing records which choice was yours, so it cannot "
                       "be taken back.")
    return None


def check_closing(closing: str) -> str | None:
    return None if closing in CLOSINGS else gettext("Choose how the vote closes.")


def check_closes_at(text: str, at: datetime) -> tuple[datetime | None, str | None]:
    """The closing time of a vote that closes at a set time, to the minute; later than ``at``."""
    try:
        closes_at = datetime.fromisoformat(text.strip()).replace(tzinfo=None, second=0, microsecond=0)
    except ValueError:
        return None, gettext("Enter the date and time the vote closes.")
    if closes_at <= at:
        return closes_at, gettext("The closing time must be in the future.")
    return closes_at, None


def check_agenda_entry(entry: AgendaEntry | None, meeting: Meeting) -> str | None:
    if entry is None or entry.meeting_id != meeting.id:
        return gettext("Choose the agenda entry the vote is on.")
    return None


# ---------------------------------------------------------------- the whole form


@dataclass
class VoteForm:
    """A vote form's values, read and checked."""

    question: str
    kind: str
    options: list[dict[str, str]]
    max_choices: int | None
    scope: str
    building: str
    unit: str
    counting_unit: str
    weighting: str
    rule: str
    secret: bool
    allow_change: bool
    results_while_open: bool
    guests_count: bool
    closing: str
    closes_at: datetime | None
    entry: AgendaEntry | None


def read_form(db: Session, values: dict[str, str], meeting: Meeting | None) -> VoteForm:
    """The form's values as typed (the agenda entry looked up); nothing checked yet."""
    v = values
    texts = {k: v.get(k, "") for k in FIELDS}
    return VoteForm(
        question=texts["question"], kind=texts["kind"], options=[], max_choices=None, scope=texts["scope"],
        building=texts["scope_building"].strip(), unit=texts["scope_unit"].strip(),
        counting_unit=texts["counting_unit"], weighting=texts["weighting"], rule=texts["rule"],
        secret=v.get("secret") == "on", allow_change=v.get("allow_change") == "on",
        results_while_open=v.get("results_while_open") == "on", guests_count=v.get("guests_count") == "on",
        closing=texts["closing"], closes_at=None,
        entry=db.get(AgendaEntry, forms.int_param(v.get("agenda_entry")) or 0) if meeting is not None else None)


def check_form(db: Session, values: dict[str, str], *, community_id: int, meeting: Meeting | None,
               at: datetime) -> tuple[VoteForm, dict[str, str]]:
    """Read and check every field of a vote form; returns the values and the errors by field."""
    f = read_form(db, values, meeting)
    f.question, question = check_question(f.question)
    f.options, options = check_options(f.kind, values.get("options", ""))
    f.max_choices, max_choices = check_max_choices(f.kind, values.get("max_choices", ""), len(f.options))
    f.closes_at, closes_at = check_closes_at(values.get("closes_at", ""), at) if f.closing == "time" else (None, None)
    found = {
        "question": question, "kind": check_kind(f.kind), "options": options, "max_choices": max_choices,
        "scope": check_scope(f.scope, meeting is not None),
        **check_place(f.scope, f.building, f.unit, *_households_at(db, community_id, f.scope, f.building, f.unit)),
        "counting_unit": check_counting_unit(f.counting_unit),
        "weighting": check_weighting(f.weighting, f.counting_unit),
        "rule": check_rule(f.rule, f.kind, f.scope, f.counting_unit),
        "allow_change": check_secret_change(f.secret, f.allow_change), "closing": check_closing(f.closing),
        "closes_at": closes_at, "agenda_entry": check_agenda_entry(f.entry, meeting) if meeting is not None else None,
    }
    return f, {name: message for name, message in found.items() if message}


def _households_at(db: Session, community_id: int, scope: str, building: str, unit: str) -> tuple[int, int]:
    """How many households of the community the register has in the building, and in its unit."""
    if scope not in PLACES or not building:
        return 0, 0
    q = select(func.count()).select_from(Household).where(Household.community_id == community_id,
                                                          Household.building == building)
    in_building = db.exec(q).one()
    in_unit = db.exec(q.where(Household.unit == unit)).one() if scope == "unit" and in_building else 0
    return in_building, in_unit


def create_vote(db: Session, values: dict[str, str], *, community_id: int, meeting: Meeting | None,
                issue: Issue | None, actor: str, at: datetime | None = None) -> tuple[Vote | None, dict[str, str]]:
    """Validate a vote form; add the vote (caller commits) or return the errors by field."""
    f, errors = check_form(db, values, community_id=community_id, meeting=meeting, at=at or now())
    if errors:
        return None, errors
    entry = f.entry
    vote = Vote(community_id=community_id, meeting_id=meeting.id if meeting else None,
                agenda_entry_id=entry.id if entry else None,
                issue_id=issue.id if issue else (entry.issue_id if entry else None), question=f.question,
                kind=f.kind, options=json.dumps(f.options, ensure_ascii=False) if f.options else "",
                max_choices=f.max_choices, scope=f.scope, scope_building=f.building if f.scope in PLACES else "",
                scope_unit=f.unit if f.scope == "unit" else "", counting_unit=f.counting_unit,
                weighting=Weighting.BOTH if f.rule in OWNERS_RULES else f.weighting, rule=f.rule, secret=f.secret,
                # A secret vote shows only its turnout until it closes (forum.secrecy).
                results_while_open=f.results_while_open and not f.secret, allow_change=f.allow_change,
                guests_count=f.scope == "attendance" and f.guests_count, closes_at=f.closes_at, created_by=actor)
    try:
        check_counts(vote, compute_electorate(db, vote))
    except VoteRefused as refused:
        return None, {refused.field or "scope": refused.text()}
    db.add(vote)
    db.flush()
    audit(db, vote, actor, "create", gettext("Vote set up: %(q)s") % {"q": f.question})
    return vote, {}


# ---------------------------------------------------------------- can it be counted?


def check_counts(vote: Vote, electors: list[VoteElector]) -> None:
    """Refuse, before anything is stored, what counting would refuse: zero areas, non-owners, nobody."""
    if needs_area(vote):
        bad = sorted(e.label for e in electors if not e.area_centi)
        if bad:
            raise VoteRefused(
                "zero_area",
                N_("These households have no floor area on the register: %(rooms)s. Weighing by floor area needs "
                   "every household's area; correct the register first."),
                "rule" if vote.rule in OWNERS_RULES else "weighting", rooms="、".join(bad))
    try:
        counting.count(vote.kind, vote.rule, voters(electors, needs_area(vote)), {}, options=option_ids(vote),
                       weighting=vote.weighting, max_choices=vote.max_choices)
    except CountingError as e:
        if e.code == "no_voters" and vote.scope == "attendance" and vote.status == VoteStatus.draft:
            return  # nobody has checked in yet; checked again when the vote opens
        messages = {
            "no_voters": N_("Nobody is eligible in this scope."),
            "not_owner": N_("The owners' rules count owners only, and this scope includes people who are not owners."),
        }
        raise VoteRefused(e.code, messages.get(e.code, N_("This vote cannot be counted as set up.")), "scope") from e
