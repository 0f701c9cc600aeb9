"""Follow-up rows to count by hand: a community of its own under the demo's street, with actions of
every owner kind (a person's private name planted) and the quarter's ratings. Shared by the
dashboard, report, export and API tests, so each counts the same world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from forum import figures, issue_registry
from forum.models import Action, Area, Committee, Organisation, Person, Rating, User

THIS = figures.quarter_of(date.today())
PREV = figures.previous(THIS)
LANDLORD = "隐私房东甲"
PHONE = "13700001111"
STAFF = "社工乙某"
EVIL = "=HYPERLINK(\"http://x\",\"y\")"


@dataclass
class Counted:
    community_id: int
    slug: str
    committee_id: int
    organisation: str
    organisation_id: int
    committee_name: str
    issue_ids: list[int]


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def build(engine, slug: str = "handcount") -> Counted:
    """Overdue now (5): the organisation's open (10 days late) and blocked (2), the committee's in
    progress (5), the landlord's (3) and a staff member's (4), the two persons grouped. Not overdue:
    one done in time, one due today, one due in a week. Ratings this quarter: 6/2/2 and 0/0/10 on
    two issues → 8 of 20, 40.0%."""
    today = date.today()
    with Session(engine) as db:
        street = db.exec(select(Area).where(Area.kind == "street").order_by(Area.id)).first()
        community = Area(name="手数社区", kind="community", parent_id=street.id, slug=slug)
        db.add(community)
        db.flush()
        committee = Committee(community_id=community.id, kind="environment", name="环境和物业管理委员会")
        organisation = db.exec(select(Organisation).order_by(Organisation.id)).first()
        landlord = Person(name=LANDLORD, phone=PHONE)
        staff = User(username=f"staff-{slug}", display_name=STAFF, role="committee", community_id=community.id,
                     password_hash="x")
        db.add_all([committee, landlord, staff])
        db.flush()
        issues = []
        for n in range(3):
            issue = issue_registry.raise_issue(db, community_id=community.id, title=f"手数议题{n}", description="",
                                               category="noise", place="", source="online", raised_by="居民")
            issue.committee_id = committee.id
            issues.append(issue)
        db.flush()

        def act(n: int, what: str = "", **kw) -> None:
            db.add(Action(issue_id=issues[n % 2].id, community_id=community.id, what=what or f"事项{n}",
                          created_by="测试", **kw))

        org = {"owner_organisation_id": organisation.id}
        act(1, EVIL, status="open", due=today - timedelta(days=10), **org)
        act(2, status="blocked", due=today - timedelta(days=2), blocked_reason="等待", **org)
        act(3, status="in_progress", due=today - timedelta(days=5), owner_committee_id=committee.id)
        act(4, "联系房东", status="open", due=today - timedelta(days=3), owner_person_id=landlord.id)
        act(5, status="open", due=today - timedelta(days=4), owner_user_id=staff.id)
        act(6, status="done", due=today - timedelta(days=10), done_at=_at(today - timedelta(days=11)), **org)
        act(7, status="open", due=today, **org)
        act(8, status="open", due=today + timedelta(days=7), owner_committee_id=committee.id)
        for issue, (s, b, d) in zip(issues, ((6, 2, 2), (0, 0, 10)), strict=False):
            db.add(Rating(issue_id=issue.id, community_id=community.id, quarter=THIS.label, satisfied=s, basically=b,
                          dissatisfied=d, verdict="satisfied" if s else "dissatisfied", source="hands", by="测试"))
        db.commit()
        return Counted(community.id, slug, committee.id, organisation.name, organisation.id, committee.name,
                       [i.id for i in issues])


def build_past(engine, slug: str = "pastcount") -> Counted:
    """At the end of the previous quarter two actions were overdue: one done since (on the first
    moment of this quarter) and one still open, due on the quarter's last day; one more was late but
    done before the quarter ended. Now: only the open one."""
    with Session(engine) as db:
        street = db.exec(select(Area).where(Area.kind == "street").order_by(Area.id)).first()
        community = Area(name="往季社区", kind="community", parent_id=street.id, slug=slug)
        db.add(community)
        db.flush()
        organisation = db.exec(select(Organisation).order_by(Organisation.id)).first()
        issue = issue_registry.raise_issue(db, community_id=community.id, title="往季议题", description="",
                                           category="noise", place="", source="online", raised_by="居民")
        db.flush()
        common = {"issue_id": issue.id, "community_id": community.id, "created_by": "测试",
                  "owner_organisation_id": organisation.id}
        db.add(Action(what="季末后完成", status="done", due=PREV.end - timedelta(days=5), done_at=_at(THIS.start),
                      **common))
        db.add(Action(what="季内迟办完成", status="done", due=PREV.end - timedelta(days=5),
                      done_at=_at(PREV.end - timedelta(days=1)), **common))
        db.add(Action(what="仍未完成", status="open", due=PREV.end, **common))
        db.commit()
        return Counted(community.id, slug, 0, organisation.name, organisation.id, "", [issue.id])
