"""The issue lifecycle, exhaustively: every (status, action) pair, and every fact it needs."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from forum.lifecycle import (
    ENDED,
    OPEN,
    SCHEDULABLE,
    TRANSITIONS,
    Facts,
    Refused,
    Status,
    Step,
    allowed_steps,
    apply,
)

# domain.md, written out by hand so that a change to TRANSITIONS has to be a change here too:
# action → (statuses it may start from, status it leads to)
DOCUMENTED = {
    Step.accept: ({Status.raised}, Status.accepted),
    Step.schedule: ({Status.accepted}, Status.on_agenda),
    Step.unschedule: ({Status.on_agenda}, Status.accepted),
    Step.discuss: ({Status.on_agenda}, Status.discussed),
    Step.decide: ({Status.on_agenda, Status.discussed}, Status.decided),
    Step.start: ({Status.decided}, Status.in_progress),
    Step.resolve: ({Status.decided, Status.in_progress}, Status.resolved),
    Step.review: ({Status.resolved}, Status.reviewed),
    Step.reopen: ({Status.resolved, Status.reviewed}, Status.accepted),
    Step.decline: ({Status.raised, Status.accepted, Status.on_agenda}, Status.declined),
    Step.merge: ({Status.raised, Status.accepted, Status.on_agenda}, Status.merged),
}

# Facts that satisfy every requirement, so a refusal can only come from the status.
ENOUGH = Facts(committee_id=3, reason="同一问题", merge_into=7, issue_id=5, decision="由物业公司加装净化器")

ALL_PAIRS = list(itertools.product(Status, Step))
ALLOWED = [(s, a) for s, a in ALL_PAIRS if s in DOCUMENTED[a][0]]
REFUSED = [(s, a) for s, a in ALL_PAIRS if s not in DOCUMENTED[a][0]]


def test_transitions_table_is_the_documented_one():
    assert set(TRANSITIONS) == set(Step)
    assert {a: (set(src), dst) for a, (src, dst) in TRANSITIONS.items()} == DOCUMENTED


def test_pairs_cover_everything():
    assert len(ALLOWED) + len(REFUSED) == len(Status) * len(Step)
    assert ALLOWED and REFUSED


@pytest.mark.parametrize(("status", "action"), ALLOWED, ids=[f"{s}-{a}" for s, a in ALLOWED])
def test_allowed_pair_gives_documented_target(status, action):
    assert apply(status, action, ENOUGH) is DOCUMENTED[action][1]
    # Plain strings, as they come from the database and from forms, work alike.
    assert apply(status.value, action.value, ENOUGH) is DOCUMENTED[action][1]


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_refused_pair_raises(status, action):
    with pytest.raises(Refused) as caught:
        apply(status, action, ENOUGH)
    error = caught.value
    assert error.params["status"] == status.value
    if status in ENDED:
        assert "closed" in error.reason
        assert "action" not in error.params
        assert status.value in str(error)
    else:
        assert "closed" not in error.reason
        assert error.params["action"] == action.value
        assert status.value in str(error) and action.value in str(error)


def test_refused_is_a_value_error():
    assert issubclass(Refused, ValueError)


def test_accept_needs_a_committee():
    with pytest.raises(Refused, match="committee"):
        apply(Status.raised, Step.accept, Facts(reason="x", merge_into=2, issue_id=1, decision="x"))
    assert apply(Status.raised, Step.accept, Facts(committee_id=1)) is Status.accepted


def test_accept_with_committee_zero_is_still_a_committee():
    # 0 is falsy but it is an id; only "no committee" is refused.
    assert apply(Status.raised, Step.accept, Facts(committee_id=0)) is Status.accepted


@pytest.mark.parametrize(("status", "action"), [
    (Status.raised, Step.decline), (Status.accepted, Step.decline), (Status.on_agenda, Step.decline),
    (Status.resolved, Step.reopen), (Status.reviewed, Step.reopen),
])
@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_decline_and_reopen_need_a_reason(status, action, reason):
    with pytest.raises(Refused, match="reason"):
        apply(status, action, Facts(reason=reason))
    assert apply(status, action, Facts(reason="不满意")) is DOCUMENTED[action][1]


@pytest.mark.parametrize("status", [Status.raised, Status.accepted, Status.on_agenda])
def test_merge_needs_a_target(status):
    with pytest.raises(Refused, match="merge into"):
        apply(status, Step.merge, Facts(issue_id=5))
    with pytest.raises(Refused, match="itself"):
        apply(status, Step.merge, Facts(issue_id=5, merge_into=5))
    assert apply(status, Step.merge, Facts(issue_id=5, merge_into=6)) is Status.merged


@pytest.mark.parametrize("status", [Status.on_agenda, Status.discussed])
@pytest.mark.parametrize("decision", ["", "  "])
def test_decide_needs_decision_text(status, decision):
    with pytest.raises(Refused, match="decision"):
        apply(status, Step.decide, Facts(decision=decision))
    assert apply(status, Step.decide, Facts(decision="下周由物业清理")) is Status.decided


@pytest.mark.parametrize("action", [a for a in Step if a not in (Step.accept, Step.decline, Step.reopen,
                                                                    Step.merge, Step.decide)])
def test_other_actions_need_no_facts(action):
    status = next(iter(DOCUMENTED[action][0]))
    assert apply(status, action) is DOCUMENTED[action][1]


def test_status_refusal_comes_before_fact_refusal():
    # A closed issue says it is closed, not that a committee is missing.
    with pytest.raises(Refused, match="closed"):
        apply(Status.declined, Step.accept, Facts())


@pytest.mark.parametrize(("status", "action"), [("nonsense", Step.accept), (Status.raised, "nonsense")])
def test_unknown_status_or_action_is_a_value_error(status, action):
    with pytest.raises(ValueError):
        apply(status, action, ENOUGH)


@pytest.mark.parametrize("status", list(Status))
def test_allowed_steps_agree_with_transitions(status):
    expected = [a for a in Step if status in DOCUMENTED[a][0]]
    assert allowed_steps(status) == expected
    assert allowed_steps(status.value) == expected
    for action in Step:
        if action in expected:
            assert apply(status, action, ENOUGH) is DOCUMENTED[action][1]
        else:
            with pytest.raises(Refused):
                apply(status, action, ENOUGH)


def _reachable(start: Status) -> set[Status]:
    seen, todo = {start}, deque([start])
    while todo:
        status = todo.popleft()
        for action in allowed_steps(status):
            target = apply(status, action, ENOUGH)
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_status_is_reachable_from_raised():
    assert _reachable(Status.raised) == set(Status)


def test_the_happy_path_of_domain_md():
    path = [Step.accept, Step.schedule, Step.discuss, Step.decide, Step.start, Step.resolve,
            Step.review]
    status = Status.raised
    for action in path:
        status = apply(status, action, ENOUGH)
    assert status is Status.reviewed


@pytest.mark.parametrize("status", sorted(ENDED))
def test_ended_statuses_have_no_way_out_but_reopen_from_reviewed(status):
    expected = [Step.reopen] if status is Status.reviewed else []
    assert allowed_steps(status) == expected


def test_open_and_ended_partition_the_statuses():
    assert OPEN | ENDED == set(Status)
    assert not OPEN & ENDED
    assert ENDED == {Status.reviewed, Status.declined, Status.merged}


def test_schedulable_is_open_and_excludes_raised():
    assert SCHEDULABLE <= OPEN
    assert Status.raised not in SCHEDULABLE
    # only accepted moves to on_agenda when scheduled
    assert allowed_steps(Status.accepted).count(Step.schedule) == 1
    for status in SCHEDULABLE - {Status.accepted}:
        assert Step.schedule not in allowed_steps(status)


def test_refused_carries_reason_and_params_for_translation():
    with pytest.raises(Refused) as caught:
        apply(Status.raised, Step.review)
    assert caught.value.reason == "An issue that is %(status)s cannot be %(action)s."
    assert caught.value.params == {"status": "raised", "action": "review"}
    assert str(caught.value) == "An issue that is raised cannot be review."
