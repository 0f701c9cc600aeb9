"""A community's year of issues for the district demo, each walked through its lifecycle as real
ones go: raised (at a weekly talk, on a door-to-door visit, by hotline, online), accepted by the
committee its category belongs to, put on the next weekly talk, decided there — or discussed and
taken to the monthly coordination when it needs outside parties — worked on through follow-up
actions with owners and due dates, resolved, and judged at the next quarterly review, where a
dissatisfied verdict reopens it for another round.

Every status change is asked of ``forum.lifecycle.apply`` as it is generated, and every moment
of an issue follows the one before it and lies before "now", so the history is one the app could
have written. Durations are skewed as real ones are: most issues are resolved within weeks, lifts
and disputes that need departments take months, and the year's last ones are still open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from forum import lifecycle
from forum.administration import COMMITTEE_NAMES_ZH
from forum.demo.data import COMMENTS
from forum.demo.district_data import (
    ACTIONS,
    CATEGORY_MIX,
    DECISIONS,
    DECLINES,
    DISSATISFIED,
    ISSUE_TEXTS,
    PROGRESS,
    RESOLUTIONS,
    SHOPS,
)
from forum.demo.district_meetings import Calendar, Slot
from forum.lifecycle import Facts, Status, Step
from forum.models import Source
from forum.review import Counts, Verdict, quarter_of, verdict

if TYPE_CHECKING:
    from forum.demo.district import Community, Places, Rows
    from forum.demo.district_votes import Planner

ISSUES_A_YEAR = 58  # a community's share of the district's 4,500
SOURCES = [(Source.meeting, 35), (Source.visit, 30), (Source.hotline, 20), (Source.online, 15)]
# Days from a decision to the work being done: a log-normal's median and spread, by kind of issue.
WORK_DAYS = {"local": (8, 0.8), "outside": (18, 0.8), "lift": (70, 0.6)}
OUTSIDE = {"lift": 0.85, "fumes": 0.5, "homestay": 0.4, "safety": 0.35}  # else 0.2
VERDICT_WORDS = {Verdict.satisfied: "满意", Verdict.basically: "基本满意", Verdict.dissatisfied: "不满意"}
BLOCKED = ["等待业主表决结果。", "等待专项维修资金审批。", "当事人外出，暂时联系不上。"]


class Stop(Exception):
    """The issue's next moment would be today or later: its story ends where it is."""


@dataclass
class Life:
    """One issue's history as it is written: each step checked by the lifecycle, each moment after
    the last and before ``now``."""

    rows: Rows
    issue: dict
    now: datetime
    status: Status | None = None
    last: datetime | None = None
    entries: dict[int, dict] = field(default_factory=dict)  # meeting id → agenda entry row

    def at(self, moment: datetime) -> datetime:
        if moment >= self.now:
            raise Stop
        if self.last is not None and moment <= self.last:
            moment = self.last + timedelta(minutes=1)
            if moment >= self.now:
                raise Stop
        self.last = moment
        self.issue["updated_at"] = moment
        return moment

    def event(self, moment: datetime, action: str, to: Status, actor: str, note: str = "",
              meeting_id: int | None = None) -> None:
        self.rows.add("issueevent", issue_id=self.issue["id"], at=self.at(moment), actor=actor, action=action,
                      from_status=self.status.value if self.status else None, to_status=to.value, note=note,
                      meeting_id=meeting_id)

    def step(self, step: Step, moment: datetime, actor: str, note: str = "", meeting_id: int | None = None,
             facts: Facts = Facts()) -> None:
        target = lifecycle.apply(self.status, step, Facts(**{**facts.__dict__, "issue_id": self.issue["id"]}))
        self.event(moment, step.value, target, actor, note or facts.reason or facts.decision, meeting_id)
        self.status = target
        self.issue["status"] = target.value
        if step is Step.accept:
            self.issue["committee_id"] = facts.committee_id
        elif step is Step.merge:
            self.issue["merged_into_id"] = facts.merge_into
        elif step is Step.resolve:
            self.issue["resolved_at"] = self.last
        elif step is Step.reopen:
            self.issue["resolved_at"] = None

    def schedule(self, calendar: Calendar, slot: Slot, moment: datetime, actor: str, minutes: int = 10) -> dict:
        """Put the issue on a meeting's agenda, as issue_registry.place_on_agenda does."""
        if self.status not in lifecycle.SCHEDULABLE:
            raise lifecycle.Refused(f"not schedulable: {self.status}")
        if self.status is Status.accepted:
            self.step(Step.schedule, moment, actor, meeting_id=slot.id)
        else:
            self.event(moment, Step.schedule.value, self.status, actor, meeting_id=slot.id)
        self.entries[slot.id] = self.rows.row("agendaentry", meeting_id=slot.id, issue_id=self.issue["id"],
                                              position=calendar.next_position(slot.id), planned_minutes=minutes,
                                              decision=None)
        return self.entries[slot.id]

    def voices(self, calendar: Calendar, slot: Slot, rng) -> None:
        """Who spoke on the item (hands raised and given the floor in turn) and what was written,
        in the minutes before the step the meeting took on it."""
        came = calendar.attendance.get(slot.id, [])
        entry = self.entries[slot.id]
        at = self.during(slot) - timedelta(minutes=1)
        for attendance_id in rng.sample(came, min(len(came), rng.randint(0, 3))):
            self.rows.add("speakingrequest", meeting_id=slot.id, attendance_id=attendance_id,
                          agenda_entry_id=entry["id"], status="done", raised_at=at,
                          started_at=at + timedelta(seconds=20), ended_at=at + timedelta(seconds=rng.randint(60, 150)))
        if came and rng.random() < 0.3:
            self.rows.add("comment", meeting_id=slot.id, agenda_entry_id=entry["id"], attendance_id=rng.choice(came),
                          text=rng.choice(COMMENTS), at=at + timedelta(seconds=30))

    def during(self, slot: Slot, late: bool = False) -> datetime:
        """When the meeting took the issue: items in agenda order, six minutes each."""
        span = max(10, int((slot.end - slot.start).total_seconds() // 60) - 15)
        position = self.entries[slot.id]["position"]
        return slot.start + timedelta(minutes=3 + (6 * (position - 1)) % span + (4 if late else 1))


def office(rng, after: datetime, days: float) -> datetime:
    """A moment in office hours about ``days`` after ``after`` (or just after it, if that day's
    office hours are already over)."""
    day = after + timedelta(days=days)
    moment = day.replace(hour=rng.randint(9, 17), minute=rng.choice([0, 10, 20, 30, 40, 50]), second=0,
                         microsecond=0)
    return moment if moment > after else after + timedelta(minutes=rng.randint(5, 90))


def before(rng, after: datetime, slot: Slot) -> datetime:
    """A moment between ``after`` and the meeting: the day or two before it, when agendas are set."""
    moment = office(rng, slot.start, -rng.choice([1, 1, 2, 3]))
    if after < moment < slot.start:
        return moment
    return after + (slot.start - after) / 2


@dataclass
class Context:
    rows: Rows
    community: Community
    calendar: Calendar
    places: Places
    now: datetime
    votes: Planner | None = None  # decides which agenda entries get a vote (forum.demo.district_votes)
    # category → (issue id, raised, resolved or far ahead): what a new one may be merged into
    raised: dict[str, list[tuple[int, datetime, datetime]]] = field(default_factory=dict)


def year_of_issues(rows: Rows, community: Community, calendar: Calendar, places: Places, now: datetime,
                   votes: Planner | None = None) -> None:
    rng = community.rng
    ctx = Context(rows, community, calendar, places, now, votes)
    count = max(1, round(ISSUES_A_YEAR * rng.uniform(0.6, 1.4)))
    span = (now - calendar.first).total_seconds()
    moments = sorted(calendar.first + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    categories = list(CATEGORY_MIX)
    weights = [CATEGORY_MIX[c][0] for c in categories]
    for moment in moments:
        category = rng.choices(categories, weights)[0]
        _one(ctx, category, moment)


def _texts(rng, community: Community, category: str) -> tuple[str, str, str, str]:
    title, description = rng.choice(ISSUE_TEXTS[category])
    b, u, shop = rng.randint(1, 8), rng.randint(1, 2), rng.choice(SHOPS)
    title = title.format(b=b, u=u, shop=shop)
    place = f"{community.name}{b}栋" + (f"{u}单元" if "单元" in title else "")
    return title, description.format(shop=shop), place, f"{b}"


def _one(ctx: Context, category: str, moment: datetime) -> None:
    rows, community, calendar, rng = ctx.rows, ctx.community, ctx.calendar, ctx.community.rng
    source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
    title, description, place, building = _texts(rng, community, category)
    facilitator = community.facilitator[1]
    raised_at_meeting = None
    if source is Source.meeting:
        raised_at_meeting = calendar.weekly.after(moment - timedelta(days=7))
        if raised_at_meeting is None or raised_at_meeting.end > ctx.now:
            source, raised_at_meeting = Source.online, None
        else:
            moment = raised_at_meeting.start + timedelta(minutes=rng.randint(5, 30))
    resident = rng.choice(community.residents)
    by_resident = f"{building}栋住户 {resident['name']}"
    raised_by = {Source.meeting: by_resident, Source.visit: "网格员上门走访",
                 Source.hotline: f"12345热线转办（{building}栋住户）", Source.online: by_resident}
    issue = dict(community_id=community.id, title=title, description=description, category=category, place=place,
                 source=source.value, raised_by=raised_by[source], committee_id=None, status=Status.raised.value,
                 merged_into_id=None, raised_at=moment, resolved_at=None, updated_at=moment, needs_outside=False)
    issue = rows.row("issue", **issue)
    life = Life(rows, issue, ctx.now)
    try:
        life.event(moment, "raise", Status.raised, facilitator if source is not Source.online else raised_by[source],
                   meeting_id=raised_at_meeting.id if raised_at_meeting else None)
        life.status = Status.raised
        _walk(ctx, life, category, raised_at_meeting)
    except Stop:
        pass
    ends = issue["resolved_at"] or (ctx.now + timedelta(days=365))
    ctx.raised.setdefault(category, []).append((issue["id"], moment, ends))


def _walk(ctx: Context, life: Life, category: str, at_meeting: Slot | None) -> None:
    rng, community = ctx.community.rng, ctx.community
    facilitator = community.facilitator[1]
    start = life.last
    roll = rng.random()
    if roll < 0.035:
        life.step(Step.decline, office(rng, start, rng.uniform(0.5, 3)), facilitator, facts=Facts(
            reason=rng.choice(DECLINES)))
        return
    if roll < 0.07:
        # The same problem raised again: merged into an earlier issue of the category still open.
        earlier = [i for i, raised, ends in ctx.raised.get(category, []) if raised < start < ends][-3:]
        if earlier:
            target = rng.choice(earlier)
            life.step(Step.merge, office(rng, start, rng.uniform(0.5, 2)), facilitator,
                      note="与同类问题合并办理。", facts=Facts(merge_into=target))
            return
    kind = CATEGORY_MIX[category][1]
    committee = community.committees[kind.value]
    # Raised at a weekly talk: accepted there and then; otherwise in the office, within days.
    accepted = (at_meeting.start + timedelta(minutes=rng.randint(35, 80)) if at_meeting
                else office(rng, start, rng.choice([0, 0.5, 1, 1, 2, 3])))
    life.step(Step.accept, accepted, facilitator, facts=Facts(committee_id=committee),
              note=f"转{COMMITTEE_NAMES_ZH[kind]}跟进。")
    outside = rng.random() < OUTSIDE.get(category, 0.2)
    for round_ in range(3):  # a reopened issue goes round again, more often with outside help
        if not _round(ctx, life, category, outside, round_):
            return
        outside = outside or rng.random() < 0.5


def _round(ctx: Context, life: Life, category: str, outside: bool, round_: int) -> bool:
    """Agenda, decision, work, resolution and review; True when the review reopened it."""
    rng, community, calendar = ctx.community.rng, ctx.community, ctx.calendar
    facilitator = community.facilitator[1]
    kind = CATEGORY_MIX[category][1]
    committee_name = COMMITTEE_NAMES_ZH[kind]
    weekly = calendar.weekly.after(life.last + timedelta(hours=2))
    if weekly is None:
        return False
    life.schedule(calendar, weekly, before(rng, life.last, weekly), facilitator)
    if weekly.end > ctx.now:
        raise Stop  # on the next weekly talk's agenda
    if outside:
        life.voices(calendar, weekly, rng)
        life.step(Step.discuss, life.during(weekly), facilitator, meeting_id=weekly.id,
                  note="需要相关部门和物业公司配合，提交月度协调会。")
        life.issue["needs_outside"] = True
        monthly = calendar.monthly.after(weekly.end)
        if monthly is None:
            return False
        entry = life.schedule(calendar, monthly, before(rng, life.last, monthly), facilitator, minutes=15)
        if monthly.end > ctx.now:
            raise Stop
        if ctx.votes is not None:  # an owners' matter: their ballots, collected since it went on the agenda
            ctx.votes.owners(community, life, monthly, entry, life.last)
        org = rng.choice([ctx.places.departments[d] for d in CATEGORY_MIX[category][2]] + [community.property_company])
        org_name = next(n for n, (i, _k) in ctx.places.organisations.items() if i == org)
        decision = rng.choice(DECISIONS["monthly"]).format(org=org_name, c=committee_name)
        meeting = monthly
        owners = [("owner_organisation_id", org, org_name)]
        if rng.random() < 0.5:
            owners.append(("owner_committee_id", community.committees[kind.value], committee_name))
    else:
        entry = life.entries[weekly.id]
        if rng.random() < 0.3:
            life.step(Step.discuss, life.during(weekly), facilitator, meeting_id=weekly.id,
                      note="当事人到场说明情况，居民代表发表意见。")
        decision = rng.choice(DECISIONS["weekly"]).format(c=committee_name)
        meeting = weekly
        owners = [("owner_committee_id", community.committees[kind.value], committee_name)]
        if rng.random() < 0.35:
            owners.append(("owner_organisation_id", community.property_company,
                           next(n for n, (i, _k) in ctx.places.organisations.items()
                                if i == community.property_company)))
    entry["decision"] = decision
    decided = life.during(meeting, late=True)
    life.voices(calendar, meeting, rng)
    life.step(Step.decide, decided, facilitator, meeting_id=meeting.id, facts=Facts(decision=decision))
    work = "lift" if category == "lift" else "outside" if outside else "local"
    median, sigma = WORK_DAYS[work]
    # Work gets quicker through the year (the district's "nearly 60% faster"): from 1.35 times the
    # median at the start of the year to 0.65 times at its end; a second round is quicker still.
    through = (decided - calendar.first) / max(ctx.now - calendar.first, timedelta(days=1))
    trend = 1.35 - 0.7 * min(1.0, max(0.0, through))
    days = min(300.0, trend * math.exp(math.log(median) + sigma * rng.gauss(0, 1)) / (2 if round_ else 1))
    resolved = office(rng, decided, max(1.0, days))
    actions = _agree(ctx, life, meeting, decided, owners, median)
    started = office(rng, decided, rng.choice([1, 1, 2, 3])) if rng.random() < 0.9 else None
    if started is not None and started < resolved:
        life.step(Step.start, started, rng.choice(owners)[2], note=rng.choice(PROGRESS))
    _work(ctx, life, actions, started or decided, resolved)
    life.step(Step.resolve, resolved, committee_name, note=rng.choice(RESOLUTIONS))
    return _review(ctx, life, round_)


def _agree(ctx: Context, life: Life, meeting: Slot, decided: datetime, owners: list,
           usual: float) -> list[tuple[dict, str]]:
    """The actions agreed with the decision, one an owner, due when such work usually takes
    (``usual`` days) with some slack: the long ones run late, and are what committees chase."""
    rng, community = ctx.community.rng, ctx.community
    facilitator = community.facilitator[1]
    made = []
    for column, owner, owner_name in owners:
        what = rng.choice(ACTIONS)
        due = (decided + timedelta(days=min(120, max(5, round(usual * rng.uniform(0.8, 2.2)))))).date()
        at = life.at(decided + timedelta(minutes=1))
        action = ctx.rows.row("action", issue_id=life.issue["id"], community_id=community.id, meeting_id=meeting.id,
                              what=what, due=due, status="open", blocked_reason="", created_by=facilitator,
                              created_at=at, updated_at=at, done_at=None, **{column: owner})
        action_id = action["id"]
        text = f"{owner_name} · {due.isoformat()}"
        ctx.rows.add("actionnote", action_id=action_id, at=at, by=facilitator, kind="create", text=text)
        ctx.rows.add("issueevent", issue_id=life.issue["id"], at=at, actor=facilitator, action="action_create",
                     from_status=life.status.value, to_status=life.status.value, note=f"{what} — {text}",
                     meeting_id=meeting.id)
        made.append((action, owner_name))
    return made


def _work(ctx: Context, life: Life, actions: list[tuple[dict, str]], started: datetime, resolved: datetime) -> None:
    """Each action started, noted and done between the start of the work and the resolution;
    what falls after "now" has not happened yet (a few are blocked instead)."""
    rng = ctx.community.rng
    changes = []
    for action, by in actions:
        done = started + (resolved - started) * rng.uniform(0.5, 0.97)
        begun = started + (done - started) * rng.uniform(0.05, 0.4)
        changes.append((begun, action, by, "in_progress", rng.choice(PROGRESS)))
        if resolved >= ctx.now and rng.random() < 0.1:
            changes.append((begun + (ctx.now - begun) * 0.5, action, by, "blocked", rng.choice(BLOCKED)))
        else:
            changes.append((done, action, by, "done", rng.choice(RESOLUTIONS)))
    for moment, action, by, to, note in sorted(changes, key=lambda c: (c[0], c[1]["id"])):
        if moment <= life.last:
            moment = life.last + timedelta(minutes=1)
        if moment >= min(resolved, ctx.now):
            continue
        at = life.at(moment)
        text = f"{action['status']} → {to}: {note}"
        ctx.rows.add("actionnote", action_id=action["id"], at=at, by=by, kind="status", text=text)
        ctx.rows.add("issueevent", issue_id=life.issue["id"], at=at, actor=by, action="action_status",
                     from_status=life.status.value, to_status=life.status.value, note=f"{action['what']} — {text}",
                     meeting_id=None)
        action["status"], action["updated_at"] = to, at
        action["done_at"] = at if to == "done" else None
        action["blocked_reason"] = note if to == "blocked" else ""
    if resolved >= ctx.now:
        raise Stop


def _review(ctx: Context, life: Life, round_: int) -> bool:
    """The next quarterly review rates the issue: mostly 满意; 不满意 reopens it."""
    rng, community, calendar = ctx.community.rng, ctx.community, ctx.calendar
    facilitator = community.facilitator[1]
    review = calendar.quarterly.after(life.last + timedelta(days=2))
    if review is None:
        return False
    entry = life.schedule(calendar, review, before(rng, life.last, review), facilitator)
    if review.end > ctx.now:
        raise Stop
    present = max(12, calendar.present.get(review.id, 20))
    roll = rng.random()
    wanted = (Verdict.dissatisfied if roll < (0.07 if round_ == 0 else 0.02) else
              Verdict.basically if roll < 0.2 else Verdict.satisfied)
    counts = _counts(rng, present, wanted)
    found = verdict(counts)
    words = " · ".join(f"{VERDICT_WORDS[v]} {getattr(counts, v.value)}" for v in Verdict)
    life.voices(calendar, review, rng)
    moment = life.during(review, late=True)
    reason = rng.choice(DISSATISFIED) if found is Verdict.dissatisfied else ""
    rating = ctx.rows.row("rating", issue_id=life.issue["id"], community_id=community.id, meeting_id=review.id,
                          quarter=quarter_of(review.start), satisfied=counts.satisfied, basically=counts.basically,
                          dissatisfied=counts.dissatisfied, verdict=found.value, source="hands", reason=reason,
                          by=facilitator, at=moment)
    voted = ctx.votes is not None and ctx.votes.rating(community, life, review, entry, rating,
                                                       calendar.attendance.get(review.id, []))
    entry["decision"] = f"{'投票评议' if voted else '现场评议'}：{words}。" + (reason or "评议通过，予以销号。")
    note = f"{words} → {VERDICT_WORDS[found]}" + (f": {reason}" if reason else "")
    if found is Verdict.dissatisfied:
        life.step(Step.reopen, moment, facilitator, note=note, meeting_id=review.id, facts=Facts(reason=reason))
        return True
    life.step(Step.review, moment, facilitator, note=note, meeting_id=review.id)
    return False


def _counts(rng, present: int, wanted: Verdict) -> Counts:
    """Show-of-hands counts of those present whose most common rating is ``wanted``."""
    top = round(present * rng.uniform(0.5, 0.8))
    rest = present - top
    second = rng.randint(0, rest // 2)
    others = {Verdict.satisfied: (top, rest - second, second), Verdict.basically: (rest - second, top, second),
              Verdict.dissatisfied: (second, rest - second, top)}[wanted]
    return Counts(*others)


