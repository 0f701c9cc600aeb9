"""A realistic demo: two communities of 解放碑街道 in 渝中区, their meetings and their issues.

``seed(session)`` builds the area tree, the "3+3" committees, the organisations around the table,
about 300 households with owners, three meeting series and the meetings already held, staff
sign-ins, and some twenty-five issues in every lifecycle status. Times are relative to today, so a
demo started any day has past meetings with minutes and an upcoming weekly talk with an agenda.

Issues are raised and moved only through ``forum.issue_registry`` so every step is in their history,
as it would be in real use; the steps are then dated back to when the story says they happened,
so "days from raised to resolved" means something in the demo.

Running ``seed`` again changes nothing: the demo street is looked up by slug first. Random
choices (floor areas, names) come from ``random.Random(2026)``, so every demo is the same one.
The caller commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from sqlmodel import Session, select

from forum import issue_registry
from forum.auth import hash_password
from forum.lifecycle import Facts, Step
from forum.models import (
    AgendaEntry,
    Area,
    AreaKind,
    Attendance,
    Cadence,
    Comment,
    Committee,
    CommitteeKind,
    ForumFormat,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Organisation,
    OrganisationKind,
    Ownership,
    Person,
    Role,
    Series,
    SeriesInvitee,
    Source,
    SpeakingRequest,
    User,
)

DEMO_PASSWORD = "demo1234"
# (username, password, role): printed by ``forum demo`` so people can sign in.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("facilitator", DEMO_PASSWORD, Role.facilitator.value),
    ("committee", DEMO_PASSWORD, Role.committee.value),
    ("liaison", DEMO_PASSWORD, Role.liaison.value),
    ("admin", DEMO_PASSWORD, Role.admin.value),
]

DISTRICT = ("渝中区", "yuzhong")
STREET = ("解放碑街道", "jiefangbei")
COMMUNITIES = [("较场口社区", "jiaochangkou"), ("白象街社区", "baixiangjie")]

# The Chinese names communities use; the English labels are models.COMMITTEE_NAMES.
COMMITTEE_NAMES_ZH = {
    CommitteeKind.mediation: "人民调解委员会",
    CommitteeKind.security: "治安保卫委员会",
    CommitteeKind.health: "公共卫生委员会",
    CommitteeKind.livelihood: "民生保障委员会",
    CommitteeKind.culture: "文化体育委员会",
    CommitteeKind.environment: "环境和物业管理委员会",
}

CITY_MANAGEMENT = "渝中区城市管理局"
MARKET_REGULATION = "渝中区市场监督管理局"
HOUSING = "渝中区住房和城乡建设委员会"
POLICE = "重庆市公安局渝中区分局解放碑派出所"
PROPERTY = "重庆山城和悦物业服务有限公司"
SOCIAL = "渝中区邻里守望社会工作服务中心"
ORGANISATIONS = [
    (CITY_MANAGEMENT, OrganisationKind.department),
    (MARKET_REGULATION, OrganisationKind.department),
    (HOUSING, OrganisationKind.department),
    (POLICE, OrganisationKind.department),
    (PROPERTY, OrganisationKind.property),
    (SOCIAL, OrganisationKind.social),
]

FORUM_FORMATS = ["幸福圆桌会", "民乐议事厅", "书记院坝会"]

# Building 5 Unit 2, the lift vote's stairwell, as real registers have it (SPC interpretation on
# building ownership, art. 9): the two ground-floor flats were never sold and are still held by the
# developer, who lets them (their residents are tenants); the owner of 301 bought 302 next door for
# their son's family; 401 belongs to a couple, both on the certificate. Twelve units, ten owners.
LIFT_STAIRWELL = ("5", "2")
DEVELOPER_HELD = ("101", "102")
SECOND_FLAT = ("301", "302")  # the owner of the first also owns the second
CO_OWNED = "401"
CO_OWNER = "蒋淑华"  # the second name on 401's certificate

# (building, units, floors, flats a floor): walk-up blocks of the 1980s and 90s, which is why
# lifts are being added. Building 5 of 较场口 has three units of six floors, two flats a floor, so
# unit 2 has the twelve households of the lift vote. 168 + 132 = 300 households.
LAYOUTS = {
    "jiaochangkou": [("1", 2, 7, 2), ("2", 2, 7, 2), ("3", 1, 6, 2), ("4", 3, 6, 2), ("5", 3, 6, 2),
                     ("6", 2, 7, 2)],
    "baixiangjie": [("1", 2, 8, 2), ("2", 2, 7, 2), ("3", 1, 8, 3), ("7", 2, 6, 2), ("8", 2, 6, 2)],
}

_SURNAMES = ("王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林谭冉向彭邓唐袁蒋曾谢韩冯熊余程汪傅秦廖蔡苏卢杜"
             "魏钟肖严夏田付任龚方石姚")
_GIVEN = ("建国 建华 国强 秀英 桂兰 淑芬 玉兰 德明 永红 红梅 志强 丽华 明 军 勇 静 敏 芳 伟 磊 婷 晓燕 海燕 文华 "
          "光荣 家福 成 学军 兴华 春梅 素珍 凤英 小平 世明 华 英 琼 利 平 刚 彬 涛 洁 霞 俊 玲 兰 福生 长春 "
          "翠华 明亮 德胜 永福 玉珍 国华 顺 富贵 大成 少华 开明 跃进 卫东 红英 燕 丹 鹏 浩 宇 欣怡 梓涵 "
          "思远 一鸣 雨桐 子轩 国平 晓东 庆 蓉 渝生 秀兰 昌盛").split()
_MOBILE_PREFIXES = ("133", "135", "136", "138", "139", "151", "152", "158", "159", "177", "180", "186", "189")

# Who acts in the stories: the demo sign-ins by display name, and committee members by title.
FACILITATOR = "王主任"
COMMITTEE_MEMBER = "李委员"
LIAISON = "张联络"
C2_FACILITATOR = "白象街社区 陈书记"
# Visitors without a flat in the register: a tenant, a shop owner, a volunteer, the property manager.
GUESTS = ["租户小刘", "面馆老板陈师傅", "志愿者小周", "物业管家李经理"]


@dataclass(frozen=True)
class DemoSummary:
    """What ``forum demo`` prints: where to look and how to sign in."""

    district: str
    street: str
    communities: list[str]
    logins: list[tuple[str, str, str]] = field(default_factory=lambda: list(DEMO_LOGINS))
    created: bool = True


def _summary(created: bool) -> DemoSummary:
    return DemoSummary(district=DISTRICT[1], street=STREET[1], communities=[slug for _name, slug in COMMUNITIES],
                       created=created)


def seed(session: Session, *, today: datetime | None = None) -> DemoSummary:
    """Create the demo in ``session`` (flushed, not committed); a second run changes nothing."""
    if session.exec(select(Area).where(Area.slug == STREET[1])).first() is not None:
        return _summary(created=False)
    now = (today or datetime.now()).replace(second=0, microsecond=0)
    rng = random.Random(2026)

    district = _area(session, *DISTRICT, AreaKind.district, None)
    street = _area(session, *STREET, AreaKind.street, district.id)
    c1 = _area(session, *COMMUNITIES[0], AreaKind.community, street.id)
    c2 = _area(session, *COMMUNITIES[1], AreaKind.community, street.id)
    committees = {c.id: _committees(session, c.id) for c in (c1, c2)}
    orgs = {name: _organisation(session, name, kind) for name, kind in ORGANISATIONS}
    formats = {c.id: _formats(session, c.id) for c in (c1, c2)}
    owners = {c.id: _households(session, c, rng) for c in (c1, c2)}
    users = _users(session, c1, committees[c1.id][CommitteeKind.environment], orgs[CITY_MANAGEMENT])

    cal = _Calendar(session, now)
    cal.series_for_first(c1, formats[c1.id], users["facilitator"], committees[c1.id], orgs)
    cal.series_for_second(c2, formats[c2.id], committees[c2.id], orgs)
    story = _Story(session, committees)
    _first_community_issues(story, cal, c1, owners[c1.id])
    _second_community_issues(story, cal, c2)
    session.flush()
    for c in (c1, c2):
        _rooms_of_past_meetings(session, c, owners[c.id], rng)
    return _summary(created=True)


# ---------------------------------------------------------------- who came, spoke and wrote


# Residents' written comments (意见), as they come in on the tablets: short, practical.
COMMENTS = [
    "希望尽快解决，家里有老人小孩。",
    "建议物业每周通报一次进展。",
    "同意这个方案，但要定好时间。",
    "晚上问题最严重，希望晚上来看看。",
    "费用怎么分摊要先讲清楚。",
    "上次也反映过，这次请一定落实。",
    "可以请社区律师一起参与。",
    "希望整改后回访一下住户。",
]


def _rooms_of_past_meetings(session: Session, community: Area, owners: dict[tuple[str, str, str], Person],
                            rng: random.Random) -> None:
    """The live record of each meeting already held: residents checked in (owners and a few
    guests), hands raised and given the floor on each item, and a few written comments, so the
    minutes read as a real meeting's would."""
    people = sorted(owners.items())
    meetings = session.exec(select(Meeting).where(Meeting.community_id == community.id,
                                                  Meeting.status == MeetingStatus.ended)
                            .order_by(Meeting.starts_at)).all()
    for meeting in meetings:
        start = meeting.started_at or meeting.starts_at
        came = [Attendance(meeting_id=meeting.id, person_id=person.id, household_id=person.household_id,
                           name=person.name, building=b, unit=u, room=r, is_guest=False,
                           checked_in_at=start - timedelta(minutes=rng.randint(0, 10)),
                           checked_in_by=rng.choice(["self", "self", FACILITATOR]))
                for (b, u, r), person in rng.sample(people, rng.randint(8, 16))]
        came += [Attendance(meeting_id=meeting.id, name=name, is_guest=True, checked_in_at=start,
                            checked_in_by=FACILITATOR) for name in rng.sample(GUESTS, rng.randint(0, 2))]
        session.add_all(came)
        session.flush()
        entries = session.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)
                               .order_by(AgendaEntry.position)).all()
        for entry in entries:
            at = meeting.starts_at + timedelta(minutes=10 * entry.position + 1)
            for speaker in rng.sample(came, min(len(came), rng.randint(1, 3))):
                session.add(SpeakingRequest(meeting_id=meeting.id, attendance_id=speaker.id,
                                            agenda_entry_id=entry.id, status="done", raised_at=at,
                                            started_at=at + timedelta(seconds=30),
                                            ended_at=at + timedelta(minutes=2)))
                at += timedelta(minutes=2, seconds=30)
            for writer in rng.sample(came, min(len(came), rng.randint(0, 2))):
                session.add(Comment(meeting_id=meeting.id, agenda_entry_id=entry.id, attendance_id=writer.id,
                                    text=rng.choice(COMMENTS), at=at))
    session.flush()


# ---------------------------------------------------------------- places, people, organisations


def _area(session: Session, name: str, slug: str, kind: AreaKind, parent_id: int | None) -> Area:
    # The district may exist already (an install serving all of 渝中区); the demo joins it.
    area = session.exec(select(Area).where(Area.slug == slug)).first()
    if area is None:
        area = Area(name=name, slug=slug, kind=kind, parent_id=parent_id)
        session.add(area)
        session.flush()
    return area


def _committees(session: Session, community_id: int) -> dict[CommitteeKind, Committee]:
    made = {}
    for kind, name in COMMITTEE_NAMES_ZH.items():
        committee = Committee(community_id=community_id, kind=kind, name=name)
        session.add(committee)
        made[kind] = committee
    session.flush()
    return made


def _organisation(session: Session, name: str, kind: OrganisationKind) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = Organisation(name=name, kind=kind)
        session.add(org)
        session.flush()
    return org


def _formats(session: Session, community_id: int) -> dict[str, ForumFormat]:
    made = {name: ForumFormat(community_id=community_id, name=name) for name in FORUM_FORMATS}
    session.add_all(made.values())
    session.flush()
    return made


class _Names:
    """Plausible Chinese names, never the same twice in a community."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        while True:
            name = self.rng.choice(_SURNAMES) + self.rng.choice(_GIVEN)
            if name not in self.used:
                self.used.add(name)
                return name


def _households(session: Session, community: Area, rng: random.Random) -> dict[tuple[str, str, str], Person]:
    """The flats of a community and one resident each, who owns it (but see ``LIFT_STAIRWELL``);
    returns the residents by (building, unit, room)."""
    names = _Names(rng)
    flats_made: list[Household] = []
    for building, units, floors, flats in LAYOUTS[community.slug]:
        for unit in range(1, units + 1):
            # Flats above one another share a floor plan, so a column of a unit has one area.
            areas = [Decimal(rng.randint(5500, 14000)) / 100 for _ in range(flats)]
            for floor in range(1, floors + 1):
                for flat in range(1, flats + 1):
                    flats_made.append(Household(community_id=community.id, building=building, unit=str(unit),
                                                room=f"{floor}{flat:02d}", floor_area=areas[flat - 1]))
    session.add_all(flats_made)
    session.flush()
    owners: dict[tuple[str, str, str], Person] = {}
    for household in flats_made:
        phone = None
        if rng.random() < 0.75:  # some owners left no number, as in real registers
            phone = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        person = Person(name=names(), phone=phone, household_id=household.id)
        owners[(household.building, household.unit, household.room)] = person
    session.add_all(owners.values())
    session.flush()
    owned = {key: {person.id} for key, person in owners.items()}
    if community.slug == "jiaochangkou":
        building, unit = LIFT_STAIRWELL
        for room in DEVELOPER_HELD:
            owned[(building, unit, room)] = set()
        first, second = ((building, unit, room) for room in SECOND_FLAT)
        owned[second] = {owners[first].id}
        spouse = Person(name=CO_OWNER, phone=None, household_id=owners[(building, unit, CO_OWNED)].household_id)
        session.add(spouse)
        session.flush()
        owned[(building, unit, CO_OWNED)].add(spouse.id)
    for household in flats_made:
        key = (household.building, household.unit, household.room)
        household.developer_held = community.slug == "jiaochangkou" and key[:2] == LIFT_STAIRWELL \
            and key[2] in DEVELOPER_HELD
        session.add(household)
        session.add_all(Ownership(household_id=household.id, person_id=pid) for pid in sorted(owned[key]))
    session.flush()
    return owners


def _users(session: Session, community: Area, committee: Committee, organisation: Organisation) -> dict[str, User]:
    wanted = {
        "facilitator": dict(display_name=FACILITATOR, role=Role.facilitator, community_id=community.id),
        "committee": dict(display_name=COMMITTEE_MEMBER, role=Role.committee, community_id=community.id,
                          committee_id=committee.id),
        "liaison": dict(display_name=LIAISON, role=Role.liaison, organisation_id=organisation.id),
        "admin": dict(display_name="系统管理员", role=Role.admin),
    }
    users = {}
    for username, password, _role in DEMO_LOGINS:
        # An install may already have an "admin"; the demo keeps it rather than failing.
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = User(username=username, password_hash=hash_password(password), **wanted[username])
            session.add(user)
        users[username] = user
    # The liaison also appears as a person speaking for the city management bureau.
    session.add(Person(name=LIAISON, phone=None, organisation_id=organisation.id))
    session.flush()
    return users


# ---------------------------------------------------------------- series and meetings


WEEKLY = "FREQ=WEEKLY;BYDAY=TU"
MONTHLY = "FREQ=MONTHLY;BYDAY=1TH"
QUARTERLY = "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR"
C2_WEEKLY = "FREQ=WEEKLY;BYDAY=TH"


class _Calendar:
    """The series and the meetings the stories need, at real occurrences of each series, so a
    scheduler that materialises occurrences later finds these meetings instead of adding twins."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.meetings: dict[tuple[int, datetime], Meeting] = {}

    # -- series

    def _series(self, community: Area, title: str, cadence: Cadence, rule: str, near: datetime,
                duration: int, place: str, forum_format: ForumFormat, facilitator: User | None,
                invitees: list[Committee | Organisation]) -> Series:
        # The series starts at its first occurrence on or after ``near``, as RFC 5545 expects.
        dtstart = rrulestr(rule, dtstart=near)[0]
        series = Series(community_id=community.id, title=title, cadence=cadence, rrule=rule, dtstart=dtstart,
                        duration_minutes=duration, place=place, forum_format_id=forum_format.id,
                        facilitator_id=facilitator.id if facilitator else None)
        self.session.add(series)
        self.session.flush()
        for invitee in invitees:
            if isinstance(invitee, Committee):
                self.session.add(SeriesInvitee(series_id=series.id, committee_id=invitee.id))
            else:
                self.session.add(SeriesInvitee(series_id=series.id, organisation_id=invitee.id))
        return series

    def series_for_first(self, community: Area, formats: dict[str, ForumFormat], facilitator: User,
                         committees: dict[CommitteeKind, Committee], orgs: dict[str, Organisation]) -> None:
        now = self.now
        all_committees = list(committees.values())
        departments = [orgs[CITY_MANAGEMENT], orgs[MARKET_REGULATION], orgs[HOUSING], orgs[POLICE]]
        month_start = now.replace(day=1, hour=15, minute=0)
        self.weekly = self._series(
            community, "幸福圆桌会 · 每周恳谈会", Cadence.weekly, WEEKLY,
            (now - timedelta(weeks=26)).replace(hour=19, minute=30), 90, "社区议事厅", formats["幸福圆桌会"],
            facilitator, all_committees + [orgs[PROPERTY]])
        self.monthly = self._series(
            community, "民乐议事厅 · 月度协调会", Cadence.monthly, MONTHLY, month_start - relativedelta(months=6),
            120, "社区党群服务中心二楼会议室", formats["民乐议事厅"], facilitator,
            all_committees + departments + [orgs[PROPERTY], orgs[SOCIAL]])
        # Starting five months back puts one review two months ago and the next one a month ahead.
        self.quarterly = self._series(
            community, "书记院坝会 · 季度评议会", Cadence.quarterly, QUARTERLY, month_start - relativedelta(months=5),
            120, "5栋前院坝", formats["书记院坝会"], facilitator,
            all_committees + departments + [orgs[PROPERTY], orgs[SOCIAL]])
        self.facilitator = facilitator

        weekly = self._past(self.weekly)
        self.Q = self._past(self.quarterly)[-1]
        self.M = self._past(self.monthly)[-1]
        self.W_q1 = max(t for t in weekly if t <= self.Q - timedelta(weeks=6))
        self.W_q2 = max(t for t in weekly if t <= self.Q - timedelta(weeks=2))
        self.W_m = max(t for t in weekly if t <= self.M - timedelta(weeks=1))
        self.w2, self.w1 = weekly[-2], weekly[-1]
        self.Wn = self._next(self.weekly)

    def series_for_second(self, community: Area, formats: dict[str, ForumFormat],
                          committees: dict[CommitteeKind, Committee], orgs: dict[str, Organisation]) -> None:
        self.c2_weekly = self._series(
            community, "民乐议事厅 · 每周恳谈会", Cadence.weekly, C2_WEEKLY,
            (self.now - timedelta(weeks=20)).replace(hour=19, minute=0), 90, "白象街社区党群服务中心议事厅",
            formats["民乐议事厅"], None, list(committees.values()) + [orgs[PROPERTY]])
        weekly = self._past(self.c2_weekly)
        self.c2_w3, self.c2_w2, self.c2_w1 = weekly[-3:]
        self.c2_next = self._next(self.c2_weekly)

    def _past(self, series: Series) -> list[datetime]:
        """Occurrences that ended at least an hour ago (time for the follow-up steps), oldest first."""
        until = self.now - timedelta(minutes=series.duration_minutes + 60)
        return list(rrulestr(series.rrule, dtstart=series.dtstart).between(series.dtstart, until, inc=True))

    def _next(self, series: Series) -> datetime:
        return rrulestr(series.rrule, dtstart=series.dtstart).after(self.now, inc=False)

    # -- meetings

    def meeting(self, series: Series, starts_at: datetime) -> Meeting:
        """The meeting of ``series`` at ``starts_at``: ended if it is over, planned if ahead."""
        key = (series.id, starts_at)
        if key not in self.meetings:
            ended = starts_at + timedelta(minutes=series.duration_minutes) <= self.now
            meeting = Meeting(community_id=series.community_id, series_id=series.id, title=series.title,
                              cadence=series.cadence, starts_at=starts_at, duration_minutes=series.duration_minutes,
                              place=series.place, facilitator_id=series.facilitator_id,
                              status=MeetingStatus.ended if ended else MeetingStatus.planned)
            if ended:
                meeting.started_at = starts_at + timedelta(minutes=3)
                meeting.ended_at = starts_at + timedelta(minutes=series.duration_minutes - 5)
            self.session.add(meeting)
            self.session.flush()
            self.meetings[key] = meeting
        return self.meetings[key]


def _on(moment: datetime, days: int, hour: int) -> datetime:
    """``days`` after (or before) the day of ``moment``, at ``hour`` o'clock: office work happens
    in office hours, not at the minute a meeting began."""
    return (moment + timedelta(days=days)).replace(hour=hour, minute=0)


def _between(a: datetime, b: datetime, fraction: float) -> datetime:
    """A moment ``fraction`` of the way from ``a`` to ``b``, moved into the working day when that
    keeps it between them (the clamp keeps the order of moments on one day)."""
    moment = (a + (b - a) * fraction).replace(second=0, microsecond=0)
    opens, closes = moment.replace(hour=8, minute=30), moment.replace(hour=18, minute=0)
    daytime = min(max(moment, opens), closes)
    return daytime if a < daytime < b else moment


# ---------------------------------------------------------------- issue stories


class _Story:
    """Walks issues through ``forum.issue_registry`` and dates each recorded step."""

    def __init__(self, session: Session, committees: dict[int, dict[CommitteeKind, Committee]]) -> None:
        self.session = session
        self.committees = committees
        self.entries: dict[tuple[int, int], AgendaEntry] = {}

    def _stamp(self, issue: Issue, at: datetime) -> None:
        # issue_registry stamps steps with the clock; the demo's happened earlier.
        self.session.flush()
        event = self.session.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                                  .order_by(IssueEvent.id.desc())).first()
        event.at = at
        issue.updated_at = at
        if issue.resolved_at is not None and event.action == Step.resolve:
            issue.resolved_at = at
        self.session.add_all([event, issue])

    def raise_(self, community: Area, at: datetime, *, title: str, description: str, category: str, place: str,
               source: Source, raised_by: str, actor: str | None = None, meeting: Meeting | None = None) -> Issue:
        issue = issue_registry.raise_issue(self.session, community_id=community.id, title=title,
                                           description=description, category=category, place=place, source=source,
                                           raised_by=raised_by, actor=actor, meeting_id=meeting.id if meeting else None)
        issue.raised_at = at
        self._stamp(issue, at)
        return issue

    def step(self, issue: Issue, step: Step, at: datetime, *, actor: str, note: str = "",
             meeting: Meeting | None = None, facts: Facts = Facts()) -> None:
        issue_registry.move(self.session, issue, step, actor=actor, facts=facts, note=note,
                            meeting_id=meeting.id if meeting else None)
        self._stamp(issue, at)

    def accept(self, issue: Issue, at: datetime, kind: CommitteeKind, *, actor: str, note: str = "") -> None:
        committee = self.committees[issue.community_id][kind]
        self.step(issue, Step.accept, at, actor=actor, note=note, facts=Facts(committee_id=committee.id))

    def agenda(self, issue: Issue, meeting: Meeting, at: datetime, *, actor: str, minutes: int = 10) -> AgendaEntry:
        entry = issue_registry.place_on_agenda(self.session, issue, meeting, actor=actor, planned_minutes=minutes)
        self._stamp(issue, at)
        self.entries[(meeting.id, issue.id)] = entry
        return entry

    def discuss(self, issue: Issue, meeting: Meeting, note: str, *, actor: str = FACILITATOR) -> None:
        self.step(issue, Step.discuss, self.during(issue, meeting), actor=actor, note=note, meeting=meeting)

    def decide(self, issue: Issue, meeting: Meeting, decision: str, *, actor: str = FACILITATOR) -> None:
        self.entries[(meeting.id, issue.id)].decision = decision
        self.step(issue, Step.decide, self.during(issue, meeting, late=True), actor=actor, note=decision,
                  meeting=meeting, facts=Facts(decision=decision))

    def record(self, issue: Issue, meeting: Meeting, outcome: str) -> None:
        """What a meeting concluded on an entry that changes no status (a review's verdict)."""
        self.entries[(meeting.id, issue.id)].decision = outcome

    def during(self, issue: Issue, meeting: Meeting, late: bool = False) -> datetime:
        # Items are taken in agenda order, about ten minutes each.
        position = self.entries[(meeting.id, issue.id)].position
        return meeting.starts_at + timedelta(minutes=10 * position + (8 if late else 2))


def _first_community_issues(s: _Story, cal: _Calendar, c: Area, owners: dict[tuple[str, str, str], Person]) -> None:
    weekly = lambda t: cal.meeting(cal.weekly, t)  # noqa: E731 - shorthand for the stories below
    Q, M = cal.meeting(cal.quarterly, cal.Q), cal.meeting(cal.monthly, cal.M)
    W_q1, W_q2, W_m, w2, w1, Wn = (weekly(t) for t in (cal.W_q1, cal.W_q2, cal.W_m, cal.w2, cal.w1, cal.Wn))
    now = cal.now
    w1_end = cal.w1 + timedelta(minutes=cal.weekly.duration_minutes)
    env, health, safety = CommitteeKind.environment, CommitteeKind.health, CommitteeKind.security

    # -- reviewed: live poultry, solved before the last quarterly review and judged satisfactory
    poultry = s.raise_(c, _on(cal.W_q1, -6, 9), title="6栋后院坝有住户圈养鸡鸭，凌晨鸡叫、气味大", category="poultry",
                       place="6栋后院坝", source=Source.hotline, raised_by="12345热线转办（6栋住户）",
                       actor=FACILITATOR, description=(
                           "6栋后面的院坝里，有住户用竹篱笆围了一块地，养了七八只鸡和两只鸭子。每天凌晨四五点就开始打鸣，"
                           "吵得一二楼的老人睡不好；天一热气味很大，还招苍蝇蚊子。住户说是老家亲戚送来的，准备过年吃。"))
    s.accept(poultry, _on(cal.W_q1, -5, 10), health, actor=FACILITATOR,
             note="转公共卫生委员会跟进，网格员先上门了解情况。")
    s.agenda(poultry, W_q1, _on(cal.W_q1, -2, 10), actor=FACILITATOR)
    s.discuss(poultry, W_q1, "养鸡的邹孃孃到场，表示不知道小区内不能养活禽，愿意配合，但希望给点时间联系乡下亲戚。")
    s.decide(poultry, W_q1, "公共卫生委员会和网格员上门劝导，给予十天时间自行处置活禽；"
                            "物业公司拆除竹篱笆、清理院坝并消杀，恢复绿化；逾期不处置的，报区城市管理局依法处理。")
    s.step(poultry, Step.start, _on(cal.W_q1, 2, 10), actor="公共卫生委员会 罗委员", note="已上门送达劝导告知书。")
    s.step(poultry, Step.resolve, _on(cal.W_q1, 13, 10), actor="公共卫生委员会 罗委员",
           note="活禽已全部送回乡下亲戚家，院坝已清理消杀，竹篱笆拆除，补种了麦冬。")
    s.agenda(poultry, Q, _on(cal.Q, -3, 10), actor=FACILITATOR)
    s.record(poultry, Q, "现场评议：满意 21 人、基本满意 5 人、不满意 1 人。评议通过，予以销号。")
    s.step(poultry, Step.review, s.during(poultry, Q, late=True), actor=FACILITATOR, meeting=Q,
           note="居民评议：满意。")

    # -- reviewed: overflowing bins, raised at a weekly talk
    bins = s.raise_(c, cal.W_q2 + timedelta(minutes=5), title="4栋垃圾桶满溢，清运不及时", category="sanitation",
                    place="4栋1单元门口垃圾收集点", source=Source.meeting, raised_by="4栋住户 谭秀兰",
                    actor=FACILITATOR, meeting=W_q2, description=(
                        "4栋门口只有两个垃圾桶，每天下午就装满了，垃圾堆在地上，夏天招老鼠、气味熏人。"
                        "清运车一天只来一次，而且时间不固定。"))
    s.accept(bins, cal.W_q2 + timedelta(minutes=10), env, actor=COMMITTEE_MEMBER)
    s.agenda(bins, W_q2, cal.W_q2 + timedelta(minutes=12), actor=FACILITATOR)
    s.decide(bins, W_q2, "物业公司在4栋门口增设两个分类垃圾桶，与区城市管理局环卫所协调每天早晚各清运一次；"
                         "环境和物业管理委员会两周后回访。", actor=FACILITATOR)
    s.step(bins, Step.start, _on(cal.W_q2, 1, 10), actor=LIAISON, note="已通知环卫所调整清运班次。")
    s.step(bins, Step.resolve, _on(cal.W_q2, 8, 10), actor=COMMITTEE_MEMBER,
           note="新增垃圾桶已到位，早7点、晚7点各清运一次，回访住户反映地面无堆积。")
    s.agenda(bins, Q, _on(cal.Q, -3, 10), actor=FACILITATOR)
    s.record(bins, Q, "现场评议：满意 18 人、基本满意 8 人、不满意 2 人。评议通过，予以销号。")
    s.step(bins, Step.review, s.during(bins, Q, late=True), actor=FACILITATOR, meeting=Q, note="居民评议：满意。")

    # -- reopened at the review, coordinated again, now in progress: e-bikes charged in stairwells
    ebikes = s.raise_(c, _on(cal.W_q1, -10, 15), title="电动自行车在楼道停放、飞线充电", category="safety",
                      place="2栋1单元、2单元楼道", source=Source.visit, raised_by="网格员上门走访（2栋住户反映）",
                      actor=FACILITATOR, description=(
                          "2栋两个单元的楼道里常年停着五六辆电动自行车，有住户从家里拉插线板下来充电，"
                          "晚上整夜不拔。楼道本来就窄，老人上下楼要侧着身子过，一旦起火后果不堪设想。"))
    s.accept(ebikes, _on(cal.W_q1, -9, 10), safety, actor=FACILITATOR)
    s.agenda(ebikes, W_q1, _on(cal.W_q1, -2, 10), actor=FACILITATOR)
    s.discuss(ebikes, W_q1, "住户都认可有安全隐患，但反映小区没有集中充电的地方，车子停在外面又怕被偷。")
    s.agenda(ebikes, W_q2, _on(cal.W_q2, -2, 10), actor=FACILITATOR)
    s.decide(ebikes, W_q2, "治安保卫委员会会同物业公司开展楼道清理，张贴禁止楼道停放充电的告示；"
                           "物业公司在2栋旁临时划出电动车停放区。")
    s.step(ebikes, Step.start, _on(cal.W_q2, 1, 10), actor="治安保卫委员会 冉委员", note="已张贴告示，逐户提醒。")
    s.step(ebikes, Step.resolve, _on(cal.W_q2, 9, 10), actor="治安保卫委员会 冉委员",
           note="楼道内电动车已全部移出，临时停放区已划线。")
    s.agenda(ebikes, Q, _on(cal.Q, -3, 10), actor=FACILITATOR)
    s.record(ebikes, Q, "现场评议：满意 6 人、基本满意 5 人、不满意 17 人。居民反映清理后一周楼道又停满了，"
                        "临时停放区没有充电桩，问题没有根本解决。评议不通过，重新交办。")
    reason = "季度评议不满意：临时停放区没有充电设施，楼道停放充电反弹。重新交办治安保卫委员会，提交月度协调会。"
    s.step(ebikes, Step.reopen, s.during(ebikes, Q, late=True), actor=FACILITATOR, meeting=Q, note=reason,
           facts=Facts(reason=reason))
    # Reopening returns it to accepted, still with the security committee: it goes to the monthly meeting.
    s.agenda(ebikes, M, _between(_on(cal.Q, 1, 10), cal.M, 0.3), actor=FACILITATOR, minutes=15)
    s.decide(ebikes, M, "物业公司在2栋与3栋之间空地建设集中充电车棚（20个充电口，投币/扫码计费），一个月内建成；"
                        "解放碑派出所配合开展电动车安全宣传；车棚建成后楼道内禁止停放，治安保卫委员会每周巡查。")
    s.step(ebikes, Step.start, _between(cal.M, now, 0.3), actor=LIAISON, note="车棚基础已开挖。")

    # -- in progress: kitchen fumes, coordinated with the departments at the monthly meeting
    fumes = s.raise_(c, _on(cal.W_m, -5, 15), title="3栋底楼面馆油烟扰民", category="fumes",
                     place="3栋1单元底商（老街小面）", source=Source.visit, raised_by="3栋住户 刘素珍",
                     actor=FACILITATOR, description=(
                         "3栋临街的面馆后厨排烟管直接对着后面的居民楼，每天早上六点开始煮面、炒臊子，油烟顺着窗户飘进"
                         "2楼、3楼住户家里，衣服晾不干，窗台、纱窗上一层油。住户找老板协商过几次，老板说装了净化器，"
                         "但看不出效果。"))
    s.accept(fumes, _on(cal.W_m, -4, 10), env, actor=COMMITTEE_MEMBER)
    s.agenda(fumes, W_m, _on(cal.W_m, -2, 10), actor=FACILITATOR)
    s.discuss(fumes, W_m, "面馆老板到场，同意清洗净化器，但说改排烟管道要花钱、要物业同意。"
                          "住户要求城管和市场监管部门到场核查。决定提交月度协调会。")
    duplicate = s.raise_(c, _on(cal.W_m, -3, 9), title="面馆排烟管正对卧室窗户", category="fumes",
                         place="3栋1单元201", source=Source.hotline, raised_by="12345热线转办（3栋住户）",
                         actor=FACILITATOR,
                         description="楼下面馆的排烟管正对我家卧室窗户，早上油烟呛得人咳嗽，窗户都不敢开。")
    s.step(duplicate, Step.merge, _on(cal.W_m, -2, 10), actor=COMMITTEE_MEMBER,
           note="与“3栋底楼面馆油烟扰民”为同一问题，合并办理。", facts=Facts(merge_into=fumes.id))
    s.agenda(fumes, M, _on(cal.M, -5, 10), actor=FACILITATOR, minutes=15)
    s.decide(fumes, M, "由区城市管理局牵头、区市场监督管理局配合，督促面馆15日内更换高效油烟净化设备，"
                       "排烟管道改至楼顶高空排放；物业公司配合施工；环境和物业管理委员会每周回访2楼、3楼住户。")
    s.step(fumes, Step.start, _between(cal.M, now, 0.4), actor=LIAISON,
           note="城管执法队员已现场检查，下达整改通知书，面馆已订购新净化设备。")

    # -- in progress: falling tiles, which needs the repair fund
    tiles = s.raise_(c, _on(cal.W_m, -3, 21), title="2栋外墙瓷砖脱落，存在高空坠物隐患", category="safety",
                     place="2栋北侧外墙", source=Source.online, raised_by="2栋住户 彭建华", description=(
                         "前几天下大雨，2栋北面外墙掉下来好几块瓷砖，砸坏了楼下一辆电瓶车的后座。"
                         "那边是上下学的必经之路，孩子多，太危险了。"))
    s.accept(tiles, _on(cal.W_m, -2, 10), env, actor=COMMITTEE_MEMBER, note="物业已先拉设警戒线。")
    s.agenda(tiles, M, _on(cal.M, -4, 10), actor=FACILITATOR, minutes=15)
    s.decide(tiles, M, "物业公司立即搭设防护网、设置警示标志；区住建委指导启动专项维修资金使用程序，"
                       "由2栋业主表决后实施外墙维修。")
    s.step(tiles, Step.start, _between(cal.M, now, 0.2), actor=LIAISON, note="防护网已搭设完毕。")

    # -- discussed, to be voted on at the next weekly talk: the lift of building 5, unit 2
    top = owners[("5", "2", "601")]
    lift = s.raise_(c, cal.W_m + timedelta(minutes=20), title="5栋2单元加装电梯", category="lift", place="5栋2单元",
                    source=Source.meeting, raised_by=f"5栋2单元居民代表 {top.name}（601）", actor=FACILITATOR,
                    meeting=W_m, description=(
                        "5栋2单元是1992年的老房子，6层没有电梯，单元里住了不少七八十岁的老人，上下楼非常吃力，"
                        "有的老人几个月没下过楼。大部分住户希望加装电梯，想了解政策、费用分摊和怎么表决。"))
    s.accept(lift, _on(cal.W_m, 1, 10), CommitteeKind.livelihood, actor=FACILITATOR,
             note="交民生保障委员会跟进，请区住建委在月度协调会上介绍政策。")
    s.agenda(lift, M, _on(cal.M, -4, 10), actor=FACILITATOR, minutes=20)
    s.discuss(lift, M, "区住建委介绍了老旧住宅加装电梯的财政补助政策和审批流程；物业公司提供了初步方案和费用测算，"
                       "按楼层分摊。低层住户担心采光和噪音。建议由本单元业主按《民法典》第二百七十八条进行表决。")
    s.agenda(lift, Wn, _between(cal.M, now, 0.5), actor=FACILITATOR, minutes=30)

    # -- on the agenda of the next weekly talk
    stall = s.raise_(c, _between(w1_end, now, 0.3), title="2栋楼下夜宵摊经营到凌晨，喧哗扰民", category="noise",
                     place="2栋临街人行道", source=Source.hotline, raised_by="12345热线转办（2栋住户）",
                     actor=FACILITATOR, description=(
                         "2栋楼下的烧烤夜宵摊每天营业到凌晨两三点，食客划拳喝酒、大声喧哗，还占了半条人行道。"
                         "临街一面的住户天天睡不好。"))
    s.accept(stall, _between(w1_end, now, 0.5), env, actor=COMMITTEE_MEMBER)
    s.agenda(stall, Wn, _between(w1_end, now, 0.7), actor=FACILITATOR)

    greens = s.raise_(c, _on(cal.w2, -2, 15), title="小区绿化带被个别住户开辟种菜", category="greenery",
                      place="1栋与2栋之间绿化带", source=Source.visit, raised_by="网格员上门走访", actor=FACILITATOR,
                      description="1栋和2栋之间的公共绿化带有人拔了草皮种葱蒜、搭竹架种豆角，还浇粪水，其他住户有意见。")
    s.accept(greens, _on(cal.w2, -1, 10), env, actor=COMMITTEE_MEMBER)
    s.agenda(greens, Wn, _between(w1_end, now, 0.6), actor=FACILITATOR)

    # -- discussed at the last weekly talk, back next week with the canteen's operator
    canteen = s.raise_(c, cal.w1 + timedelta(minutes=5), title="社区老年食堂午餐排队时间长", category="other",
                       place="社区老年食堂", source=Source.meeting, raised_by="4栋住户 袁桂兰", actor=FACILITATOR,
                       meeting=w1,
                       description="老年食堂中午11点开饭，经常排队半个多小时，腿脚不好的老人站不住，希望能改进。")
    s.accept(canteen, cal.w1 + timedelta(minutes=8), CommitteeKind.livelihood, actor=FACILITATOR)
    s.agenda(canteen, w1, cal.w1 + timedelta(minutes=9), actor=FACILITATOR)
    s.discuss(canteen, w1, "大家建议分时段就餐、为80岁以上老人提供送餐。需要食堂运营方到场说明，下周继续议。")
    s.agenda(canteen, Wn, _between(w1_end, now, 0.4), actor=FACILITATOR)

    # -- decided: a homestay dispute, mediated over two weekly talks
    homestay = s.raise_(c, _on(cal.w2, -4, 9), title="1栋2单元民宿住客深夜喧哗、陌生人频繁进出", category="homestay",
                        place="1栋2单元502", source=Source.hotline, raised_by="1栋2单元住户 唐德明",
                        actor=FACILITATOR, description=(
                            "1栋2单元502被租下来做网约民宿，住客经常半夜拖着行李箱上下楼，凌晨还在屋里唱歌打牌。"
                            "单元门禁卡被随便转借，陌生人进进出出，楼上楼下住户都担心安全。"))
    s.accept(homestay, _on(cal.w2, -3, 10), CommitteeKind.mediation, actor=FACILITATOR)
    s.agenda(homestay, w2, _on(cal.w2, -1, 10), actor=FACILITATOR, minutes=20)
    s.discuss(homestay, w2, "民宿经营者与住户代表当面沟通。经营者认为自己合法经营；住户要求停业。双方未达成一致，"
                            "人民调解委员会会后分别做工作，下周继续调解。")
    s.agenda(homestay, w1, _on(cal.w1, -2, 10), actor=FACILITATOR, minutes=20)
    s.decide(homestay, w1, "人民调解委员会主持，民宿经营者与单元住户代表签订《邻里公约》：晚上10点后不再办理入住，"
                           "住客须实名登记；门禁卡由经营者统一管理，不得转借；解放碑派出所社区民警上门核查住宿登记；"
                           "一个月后回访。")

    # -- decided: clutter in the courtyard
    clutter = s.raise_(c, _on(cal.w2, -2, 15), title="5栋前院坝杂物堆放，占用公共空间", category="sanitation",
                       place="5栋前院坝", source=Source.visit, raised_by="网格员上门走访", actor=FACILITATOR,
                       description="5栋前院坝堆了旧沙发、纸箱和废木板，有的放了大半年，既不美观也有火灾隐患。")
    s.accept(clutter, _on(cal.w2, -1, 10), env, actor=COMMITTEE_MEMBER)
    s.agenda(clutter, w2, _on(cal.w2, -1, 11), actor=FACILITATOR)
    s.decide(clutter, w2, "先张贴通知请物主一周内自行清理；逾期由环境和物业管理委员会组织志愿者周六上午集中清理，"
                          "物业公司负责清运。")

    # -- resolved, awaiting the next quarterly review: square-dance music
    dance = s.raise_(c, _on(cal.W_m, -8, 21), title="广场舞音响音量过大", category="noise", place="社区文化广场",
                     source=Source.online, raised_by="6栋住户 夏玉珍", description=(
                         "每天晚上七点到九点半，文化广场有两支广场舞队同时放音乐，音响开得很大，"
                         "临近的6栋住户家里关着窗都听得清清楚楚，孩子没法做作业。"))
    s.accept(dance, _on(cal.W_m, -6, 10), CommitteeKind.culture, actor=FACILITATOR)
    s.agenda(dance, W_m, _on(cal.W_m, -2, 10), actor=FACILITATOR)
    s.decide(dance, W_m, "文化体育委员会与两支舞蹈队协商：音量控制在60分贝以内，活动时间调整为19:00—20:30，"
                         "两队错开场地，改用定向音箱。")
    s.step(dance, Step.start, _on(cal.W_m, 1, 10), actor="文化体育委员会 何委员",
           note="已与两支舞蹈队队长签订文明跳舞承诺书。")
    s.step(dance, Step.resolve, _between(_on(cal.W_m, 2, 10), now, 0.5), actor="文化体育委员会 何委员",
           note="连续两周晚间抽测，音量在55分贝左右，6栋住户反映明显改善。")

    # -- accepted, not yet scheduled
    lane = s.raise_(c, _on(cal.w1, -3, 21), title="消防通道被私家车长期占用", category="parking",
                    place="4栋与5栋之间消防通道", source=Source.online, raised_by="5栋住户 邓志强", description=(
                        "4栋和5栋之间的消防通道晚上停满了私家车，上个月有老人半夜发病，救护车开不进来，"
                        "担架是抬出去的。"))
    s.accept(lane, _on(cal.w1, -1, 10), safety, actor=FACILITATOR, note="请物业先摸清车辆情况，再提交恳谈会。")

    # -- raised, waiting for triage
    s.raise_(c, _between(w1_end, now, 0.8), title="4栋3单元楼道声控灯坏了", category="safety", place="4栋3单元3楼至6楼",
             source=Source.online, raised_by="4栋住户 付丹",
             description="4栋3单元三楼到六楼的声控灯坏了一个多星期，晚上上下楼一片漆黑，老人已经摔过一跤。")
    s.raise_(c, _between(w1_end, now, 0.6), title="文化广场健身器材螺丝松动", category="safety", place="社区文化广场",
             source=Source.visit, raised_by="网格员上门走访", actor=FACILITATOR,
             description="广场上的太空漫步机和扭腰器螺丝松了，晃得厉害，早上锻炼的老人多，担心出事。")

    # -- declined, with the reason told to the resident
    bars = s.raise_(c, _on(cal.w2, -5, 9), title="要求社区出资为家里更换防盗窗", category="other", place="6栋2单元302",
                    source=Source.hotline, raised_by="6栋住户 汪国华", actor=FACILITATOR,
                    description="家里的防盗窗锈得很厉害，希望社区出钱帮忙换成不锈钢的。")
    reason = "防盗窗属于业主专有部分，不属于社区公共事务，费用应由业主自行承担；已告知可联系有资质的施工单位。"
    s.step(bars, Step.decline, _on(cal.w2, -4, 10), actor=FACILITATOR, note=reason, facts=Facts(reason=reason))


def _second_community_issues(s: _Story, cal: _Calendar, c: Area) -> None:
    weekly = lambda t: cal.meeting(cal.c2_weekly, t)  # noqa: E731 - shorthand for the stories below
    w3, w2, w1, nxt = (weekly(t) for t in (cal.c2_w3, cal.c2_w2, cal.c2_w1, cal.c2_next))
    now = cal.now
    w1_end = cal.c2_w1 + timedelta(minutes=cal.c2_weekly.duration_minutes)
    chair = C2_FACILITATOR

    # -- in progress: homestays crowding the old lanes
    homestay = s.raise_(c, _on(cal.c2_w3, -3, 15), title="民宿住客在楼道堆放行李，消防通道不畅", category="homestay",
                        place="白象街3栋1单元", source=Source.visit, raised_by="网格员上门走访", actor=chair,
                        description=(
                            "3栋1单元有四套房子在做民宿，节假日住客多，行李箱、婴儿车堆在楼道和消防通道上，"
                            "晚上还有人在楼道里抽烟打电话。住户担心消防安全，也不满陌生人太多。"))
    s.accept(homestay, _on(cal.c2_w3, -2, 10), CommitteeKind.mediation, actor=chair)
    s.agenda(homestay, w3, _on(cal.c2_w3, -1, 10), actor=chair, minutes=20)
    s.discuss(homestay, w3, "四家民宿经营者来了三家，同意规范经营，但提出楼道里没有地方放行李。", actor=chair)
    s.agenda(homestay, w2, _on(cal.c2_w2, -2, 10), actor=chair, minutes=15)
    s.decide(homestay, w2, "民宿经营者在各自房内设置行李存放区，楼道不得堆放物品；"
                           "派出所和社区联合开展民宿消防安全检查；人民调解委员会牵头制定《白象街民宿经营公约》。",
             actor=chair)
    s.step(homestay, Step.start, _between(cal.c2_w2, now, 0.3), actor=chair,
           note="第一次联合检查已完成，楼道已清空。")

    # -- decided: pigeons on the roof
    pigeons = s.raise_(c, _on(cal.c2_w2, -2, 9), title="7栋楼顶私搭鸽棚养鸽，粪便堵塞雨水管", category="poultry",
                       place="7栋楼顶平台", source=Source.hotline, raised_by="12345热线转办（7栋顶楼住户）",
                       actor=chair, description=(
                           "7栋楼顶平台有人用铁丝网搭了鸽棚，养了三十多只鸽子。鸽子粪便把雨水管堵了，"
                           "上次下大雨顶楼住户家里渗水，羽毛还飘进窗户。"))
    s.accept(pigeons, _on(cal.c2_w2, -1, 10), CommitteeKind.health, actor=chair)
    s.agenda(pigeons, w1, _on(cal.c2_w1, -2, 10), actor=chair)
    s.decide(pigeons, w1, "楼顶平台属于全体业主共有部分，养鸽住户两周内自行拆除鸽棚；物业公司疏通雨水管并清洗平台；"
                          "公共卫生委员会做好消杀。", actor=chair)

    # -- resolved: a blocked septic tank
    septic = s.raise_(c, _on(cal.c2_w3, -1, 9), title="2栋化粪池堵塞，污水外溢", category="sanitation",
                      place="2栋背后化粪池", source=Source.hotline, raised_by="2栋住户 苏长春", actor=chair,
                      description="2栋背后的化粪池堵了，污水漫到路面上，臭气熏天，进出都要踮着脚走。")
    s.accept(septic, _on(cal.c2_w3, -1, 12), CommitteeKind.environment, actor=chair)
    s.agenda(septic, w3, _on(cal.c2_w3, 0, 16), actor=chair)
    s.decide(septic, w3, "物业公司三日内请专业单位疏通化粪池并清洗路面；环境和物业管理委员会跟进回访。", actor=chair)
    s.step(septic, Step.start, _on(cal.c2_w3, 1, 10), actor=LIAISON, note="疏通作业已安排。")
    s.step(septic, Step.resolve, _on(cal.c2_w3, 3, 10), actor=chair,
           note="化粪池已疏通，路面已冲洗消毒，住户确认无异味。")

    # -- resolved: renovation noise at lunchtime
    works = s.raise_(c, _on(cal.c2_w2, -3, 21), title="8栋装修中午不停工，噪音扰民", category="noise",
                     place="8栋1单元402", source=Source.online, raised_by="8栋住户 曾淑芬", description=(
                         "8栋1单元402在装修，中午12点到2点电钻、切割机照样响，上夜班的住户白天没法休息。"))
    s.accept(works, _on(cal.c2_w2, -2, 10), CommitteeKind.mediation, actor=chair)
    s.agenda(works, w2, _on(cal.c2_w2, -1, 10), actor=chair)
    s.decide(works, w2, "装修户与施工队承诺遵守装修时间：工作日8:00—12:00、14:00—18:00，周末不进行高噪音作业；"
                        "物业公司加强巡查。", actor=chair)
    s.step(works, Step.start, _on(cal.c2_w2, 1, 10), actor=chair, note="已在单元门口张贴装修时间告示。")
    s.step(works, Step.resolve, _between(_on(cal.c2_w2, 2, 10), now, 0.6), actor=chair,
           note="两周内未再接到投诉，装修户已按时施工。")

    # -- on the agenda of the next weekly talk, and a duplicate merged into it
    parking = s.raise_(c, _between(w1_end, now, 0.2), title="小区停车位划线不合理，外来车辆占位",
                       category="parking", place="白象街小区内部道路", source=Source.online, raised_by="1栋住户 蒋永红",
                       description="小区内的停车位划得太密，车门都打不开；还有外来车辆长期停放，住户下班回来没地方停。")
    s.accept(parking, _between(w1_end, now, 0.4), CommitteeKind.environment, actor=chair)
    s.agenda(parking, nxt, _between(w1_end, now, 0.6), actor=chair, minutes=15)
    dup = s.raise_(c, _between(w1_end, now, 0.5), title="外来车辆占用小区车位", category="parking",
                   place="白象街小区大门内", source=Source.hotline, raised_by="12345热线转办（2栋住户）", actor=chair,
                   description="大门里面的车位经常被外面来的车占着，门卫也不管。")
    s.step(dup, Step.merge, _between(w1_end, now, 0.7), actor=chair, note="与“小区停车位划线不合理”合并办理。",
           facts=Facts(merge_into=parking.id))

    # -- accepted: a lift wanted in building 8
    lift = s.raise_(c, cal.c2_w1 + timedelta(minutes=40), title="8栋1单元加装电梯意向征集", category="lift",
                    place="8栋1单元", source=Source.meeting, raised_by="8栋1单元住户 钟德胜", actor=chair, meeting=w1,
                    description="8栋1单元有几户老人想加装电梯，希望社区帮忙先摸一摸全单元业主的意愿。")
    s.accept(lift, _between(w1_end, now, 0.3), CommitteeKind.livelihood, actor=chair,
             note="民生保障委员会先逐户征集意向。")

    # -- raised: barbecue smoke
    s.raise_(c, _between(w1_end, now, 0.9), title="巷口烧烤摊夜间油烟大", category="fumes", place="白象街巷口",
             source=Source.online, raised_by="3栋住户 秦晓燕",
             description="巷口的烧烤摊每晚用木炭烤串，烟雾直接飘进3栋低层住户家里，晚上没法开窗。")

    # -- declined: a private debt
    debt = s.raise_(c, _on(cal.c2_w2, -6, 15), title="要求社区出面追讨私人借款", category="other", place="",
                    source=Source.visit, raised_by="1栋住户 熊大成", actor=chair,
                    description="邻居借了我两万块钱两年不还，希望社区出面帮我要回来。")
    reason = "属于私人债务纠纷，社区无权强制追讨；已告知可申请人民调解委员会调解，或向人民法院起诉。"
    s.step(debt, Step.decline, _on(cal.c2_w2, -5, 10), actor=chair, note=reason, facts=Facts(reason=reason))
