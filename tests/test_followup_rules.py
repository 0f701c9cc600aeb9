"""The follow-up action rules, exhaustively: who may change what, statuses, overdue, resolvable."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from forum import followup
from forum.followup import Actor, Change, Facts, Owner, Refused, Status

TODAY = date(2026, 11, 30)
ORG, OTHER_ORG, COMMITTEE, OTHER_COMMITTEE, USER = 3, 4, 7, 8, 21

OWNERS = {
    "organisation": Owner(organisation_id=ORG),
    "other organisation": Owner(organisation_id=OTHER_ORG),
    "committee": Owner(committee_id=COMMITTEE),
    "other committee": Owner(committee_id=OTHER_COMMITTEE),
    "person": Owner(user_id=USER),
    "resident": Owner(person_id=USER),
}
ACTORS = {
    "nobody": Actor(None),
    "facilitator": Actor("facilitator", in_community=True),
    "facilitator elsewhere": Actor("facilitator", in_community=False),
    "admin": Actor("admin", in_community=True),
    "committee": Actor("committee", in_community=True, committee_id=COMMITTEE),
    "committee elsewhere": Actor("committee", in_community=False, committee_id=COMMITTEE),
    "other committee": Actor("committee", in_community=True, committee_id=OTHER_COMMITTEE),
    "liaison": Actor("liaison", in_community=True, organisation_id=ORG),
    "liaison of no organisation": Actor("liaison", in_community=True),
}


def expected(actor: str, owner: str, issue_committee: int | None, change: Change) -> bool:
    """The table of the module's docstring, written out by hand."""
    if change is Change.create:
        return actor in ("facilitator", "admin", "committee", "other committee")
    if actor in ("facilitator", "admin"):
        return True
    if actor == "liaison":
        return owner == "organisation" and change not in (Change.reassign, Change.due)
    if actor == "committee":
        return owner == "committee" or issue_committee == COMMITTEE
    if actor == "other committee":
        return owner == "other committee" or issue_committee == OTHER_COMMITTEE
    return False


@pytest.mark.parametrize(("actor", "owner", "issue_committee", "change"),
                         list(itertools.product(ACTORS, OWNERS, (None, COMMITTEE, OTHER_COMMITTEE), Change)))
def test_who_may_change_what(actor, owner, issue_committee, change):
    facts = Facts(owner=OWNERS[owner], issue_committee_id=issue_committee)
    assert followup.may_change(ACTORS[actor], facts, change) is expected(actor, owner, issue_committee, change)


def test_a_liaison_reports_but_does_not_replan():
    facts = Facts(owner=Owner(organisation_id=ORG))
    liaison = ACTORS["liaison"]
    assert followup.may_change(liaison, facts, Change.status)
    assert followup.may_change(liaison, facts, Change.progress)
    assert not followup.may_change(liaison, facts, Change.reassign)
    assert not followup.may_change(liaison, facts, Change.due)
    assert not followup.may_change(liaison, Facts(owner=Owner(organisation_id=OTHER_ORG)), Change.status)


@pytest.mark.parametrize(("start", "to"), list(itertools.product(Status, Status)))
def test_status_changes(start, to):
    facts = Facts(owner=OWNERS["committee"], status=start)
    if start == to:
        with pytest.raises(Refused) as refused:
            followup.new_status(facts, to, reason="why")
        assert refused.value.field == "status"
    else:
        assert followup.new_status(facts, to, reason="why") == to


@pytest.mark.parametrize("reason", ["", "   "])
def test_blocked_needs_a_reason(reason):
    with pytest.raises(Refused) as refused:
        followup.new_status(Facts(owner=OWNERS["committee"]), Status.blocked, reason=reason)
    assert refused.value.field == "reason"


def test_an_unknown_status_is_refused_by_its_field():
    with pytest.raises(Refused) as refused:
        followup.new_status(Facts(owner=OWNERS["committee"]), "finished")
    assert refused.value.field == "status"


@pytest.mark.parametrize(("what", "owner", "due", "field"), [
    ("", Owner(committee_id=1), TODAY, "what"),
    ("  ", Owner(committee_id=1), TODAY, "what"),
    ("x" * 301, Owner(committee_id=1), TODAY, "what"),
    ("换油烟净化器", None, TODAY, "owner"),
    ("换油烟净化器", Owner(), TODAY, "owner"),
    ("换油烟净化器", Owner(committee_id=1, organisation_id=2), TODAY, "owner"),
    ("换油烟净化器", Owner(committee_id=1), None, "due"),
    ("换油烟净化器", Owner(committee_id=1), TODAY - timedelta(days=1), "due"),
    ("换油烟净化器", Owner(committee_id=1), TODAY + timedelta(days=800), "due"),
])
def test_a_new_action_is_refused_by_the_field_at_fault(what, owner, due, field):
    with pytest.raises(Refused) as refused:
        followup.check_new(what, owner, due, TODAY)
    assert refused.value.field == field


@pytest.mark.parametrize("due", [TODAY, TODAY + timedelta(days=15), TODAY + followup.MAX_AHEAD])
def test_a_new_action_due_today_or_later_is_taken(due):
    followup.check_new("换油烟净化器", Owner(organisation_id=ORG), due, TODAY)


def test_reassigning_needs_another_owner_and_a_reason():
    facts = Facts(owner=Owner(organisation_id=ORG))
    for owner, reason, field in [(Owner(organisation_id=ORG), "why", "owner"), (None, "why", "owner"),
                                 (Owner(committee_id=COMMITTEE), "", "reason")]:
        with pytest.raises(Refused) as refused:
            followup.check_reassign(facts, owner, reason)
        assert refused.value.field == field
    assert followup.check_reassign(facts, Owner(committee_id=COMMITTEE), "物业不管") == Owner(committee_id=COMMITTEE)


def test_moving_the_due_date_needs_another_day_and_a_reason():
    facts = Facts(owner=Owner(organisation_id=ORG), due=TODAY + timedelta(days=2))
    for due, reason, field in [(TODAY + timedelta(days=2), "why", "due"), (TODAY - timedelta(days=1), "why", "due"),
                               (TODAY + timedelta(days=9), " ", "reason")]:
        with pytest.raises(Refused) as refused:
            followup.check_move_due(facts, due, reason, TODAY)
        assert refused.value.field == field
    assert followup.check_move_due(facts, TODAY + timedelta(days=9), "设备缺货", TODAY) == TODAY + timedelta(days=9)


@pytest.mark.parametrize(("status", "offset", "overdue", "soon"), [
    (Status.open, -1, True, False), (Status.in_progress, -30, True, False), (Status.blocked, -1, True, False),
    (Status.done, -1, False, False), (Status.open, 0, False, True), (Status.open, 3, False, True),
    (Status.open, 4, False, False), (Status.done, 1, False, False),
])
def test_overdue_and_due_soon(status, offset, overdue, soon):
    due = TODAY + timedelta(days=offset)
    assert followup.is_overdue(status, due, TODAY) is overdue
    assert followup.is_due_soon(status, due, TODAY) is soon
    assert followup.days_late(due, TODAY) == max(0, -offset)


@pytest.mark.parametrize(("statuses", "resolvable"), [
    ([], False), (["done"], True), (["done", "done"], True), (["done", "open"], False),
    (["blocked"], False), (["in_progress", "done"], False),
])
def test_resolvable_when_every_action_is_done(statuses, resolvable):
    assert followup.resolvable(statuses) is resolvable


def test_my_work_lists_overdue_first_then_by_due_date_done_last():
    items = [("open", TODAY + timedelta(days=5)), ("done", TODAY - timedelta(days=9)),
             ("in_progress", TODAY - timedelta(days=1)), ("open", TODAY + timedelta(days=1)),
             ("blocked", TODAY - timedelta(days=4))]
    assert followup.work_order(items, TODAY) == [4, 2, 3, 0, 1]


@pytest.mark.parametrize(("value", "owner"), [
    ("c12", Owner(committee_id=12)), ("o3", Owner(organisation_id=3)), ("u7", Owner(user_id=7)),
    ("p9", Owner(person_id=9)),
    ("", None), ("x1", None), ("c", None), ("c-1", None), ("o1a", None), ("c" + "9" * 30, None),
])
def test_owner_keys_round_trip(value, owner):
    assert followup.parse_owner(value) == owner
    if owner is not None:
        assert followup.owner_key(owner) == value


def test_recorded_status_changes_read_in_words():
    labels = {"Not started": "未开始", "Done": "已完成"}
    words = followup.status_words("换设备 — open → done: 已换", lambda m: labels.get(m, m))
    assert words == "换设备 — 未开始 → 已完成: 已换"
    assert followup.status_words("opened → donee", str) == "opened → donee"
