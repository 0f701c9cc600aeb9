"""The demo's issues, told as stories: each raised, accepted, discussed, decided, worked on and
reviewed through ``forum.issue_registry`` so every step is in its history, then dated back to
when the story says it happened, so "days from raised to resolved" means something in the demo."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from forum import issue_registry
from forum.demo import followups
from forum.demo.data import (
    C2_FACILITATOR,
    CITY_MANAGEMENT,
    COMMITTEE_MEMBER,
    FACILITATOR,
    LIAISON,
    MARKET_REGULATION,
)
from forum.demo.meetings import Calendar, between, on
from forum.followup import Owner
from forum.lifecycle import Facts, Step
from forum.models import (
    AgendaEntry,
    Area,
    Committee,
    CommitteeKind,
    Issue,
    IssueEvent,
    Meeting,
    Organisation,
    Person,
    Source,
)
from forum.review import Counts


class Story:
    """Walks issues through ``forum.issue_registry`` and dates each recorded step."""

    def __init__(self, session: Session, committees: dict[int, dict[CommitteeKind, Committee]],
                 organisations: dict[str, Organisation] | None = None) -> None:
        self.session = session
        self.committees = committees
        self.organisations = organisations or {}
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


def first_community_issues(s: Story, cal: Calendar, c: Area, owners: dict[tuple[str, str, str], Person]) -> None:
    weekly = lambda t: cal.meeting(cal.weekly, t)  # noqa: E731 - shorthand for the stories below
    Q, M = cal.meeting(cal.quarterly, cal.Q), cal.meeting(cal.monthly, cal.M)
    W_q1, W_q2, W_m, w2, w1, Wn = (weekly(t) for t in (cal.W_q1, cal.W_q2, cal.W_m, cal.w2, cal.w1, cal.Wn))
    now = cal.now
    w1_end = cal.w1 + timedelta(minutes=cal.weekly.duration_minutes)
    env, health, safety = CommitteeKind.environment, CommitteeKind.health, CommitteeKind.security

    # -- reviewed: live poultry, solved before the last quarterly review and judged satisfactory
    poultry = s.raise_(c, on(cal.W_q1, -6, 9), title="6栋后院坝有住户圈养鸡鸭，凌晨鸡叫、气味大", category="poultry",
                       place="6栋后院坝", source=Source.hotline, raised_by="12345热线转办（6栋住户）",
                       actor=FACILITATOR, description=(
                           "6栋后面的院坝里，有住户用竹篱笆围了一块地，养了七八只鸡和两只鸭子。每天凌晨四五点就开始打鸣，"
                           "吵得一二楼的老人睡不好；天一热气味很大，还招苍蝇蚊子。住户说是老家亲戚送来的，准备过年吃。"))
    s.accept(poultry, on(cal.W_q1, -5, 10), health, actor=FACILITATOR,
             note="转公共卫生委员会跟进，网格员先上门了解情况。")
    s.agenda(poultry, W_q1, on(cal.W_q1, -2, 10), actor=FACILITATOR)
    s.discuss(poultry, W_q1, "养鸡的邹孃孃到场，表示不知道小区内不能养活禽，愿意配合，但希望给点时间联系乡下亲戚。")
    s.decide(poultry, W_q1, "公共卫生委员会和网格员上门劝导，给予十天时间自行处置活禽；"
                            "物业公司拆除竹篱笆、清理院坝并消杀，恢复绿化；逾期不处置的，报区城市管理局依法处理。")
    s.step(poultry, Step.start, on(cal.W_q1, 2, 10), actor="公共卫生委员会 罗委员", note="已上门送达劝导告知书。")
    s.step(poultry, Step.resolve, on(cal.W_q1, 13, 10), actor="公共卫生委员会 罗委员",
           note="活禽已全部送回乡下亲戚家，院坝已清理消杀，竹篱笆拆除，补种了麦冬。")
    s.agenda(poultry, Q, on(cal.Q, -3, 10), actor=FACILITATOR)
    s.record(poultry, Q, "现场评议：满意 21 人、基本满意 5 人、不满意 1 人。评议通过，予以销号。")
    followups.rate(s.session, poultry, Q, Counts(21, 5, 1), actor=FACILITATOR)
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
    clearing = followups.agree(s.session, bins, W_q2, s.during(bins, W_q2, late=True) + timedelta(minutes=1),
                               what="环卫所调整为每天早晚各清运一次", due=on(cal.W_q2, 7, 0).date(),
                               owner=Owner(organisation_id=s.organisations[CITY_MANAGEMENT].id),
                               owner_name=CITY_MANAGEMENT, actor=FACILITATOR)
    s.step(bins, Step.start, on(cal.W_q2, 1, 10), actor=LIAISON, note="已通知环卫所调整清运班次。")
    followups.progress(s.session, bins, clearing, on(cal.W_q2, 6, 17), actor=LIAISON, done=True,
                       note="早7点、晚7点清运班次已固定。")
    s.step(bins, Step.resolve, on(cal.W_q2, 8, 10), actor=COMMITTEE_MEMBER,
           note="新增垃圾桶已到位，早7点、晚7点各清运一次，回访住户反映地面无堆积。")
    s.agenda(bins, Q, on(cal.Q, -3, 10), actor=FACILITATOR)
    s.record(bins, Q, "现场评议：满意 18 人、基本满意 8 人、不满意 2 人。评议通过，予以销号。")
    followups.rate(s.session, bins, Q, Counts(18, 8, 2), actor=FACILITATOR)
    s.step(bins, Step.review, s.during(bins, Q, late=True), actor=FACILITATOR, meeting=Q, note="居民评议：满意。")

    # -- reopened at the review, coordinated again, now in progress: e-bikes charged in stairwells
    ebikes = s.raise_(c, on(cal.W_q1, -10, 15), title="电动自行车在楼道停放、飞线充电", category="safety",
                      place="2栋1单元、2单元楼道", source=Source.visit, raised_by="网格员上门走访（2栋住户反映）",
                      actor=FACILITATOR, description=(
                          "2栋两个单元的楼道里常年停着五六辆电动自行车，有住户从家里拉插线板下来充电，"
                          "晚上整夜不拔。楼道本来就窄，老人上下楼要侧着身子过，一旦起火后果不堪设想。"))
    s.accept(ebikes, on(cal.W_q1, -9, 10), safety, actor=FACILITATOR)
    s.agenda(ebikes, W_q1, on(cal.W_q1, -2, 10), actor=FACILITATOR)
    s.discuss(ebikes, W_q1, "住户都认可有安全隐患，但反映小区没有集中充电的地方，车子停在外面又怕被偷。")
    s.agenda(ebikes, W_q2, on(cal.W_q2, -2, 10), actor=FACILITATOR)
    s.decide(ebikes, W_q2, "治安保卫委员会会同物业公司开展楼道清理，张贴禁止楼道停放充电的告示；"
                           "物业公司在2栋旁临时划出电动车停放区。")
    s.step(ebikes, Step.start, on(cal.W_q2, 1, 10), actor="治安保卫委员会 冉委员", note="已张贴告示，逐户提醒。")
    s.step(ebikes, Step.resolve, on(cal.W_q2, 9, 10), actor="治安保卫委员会 冉委员",
           note="楼道内电动车已全部移出，临时停放区已划线。")
    s.agenda(ebikes, Q, on(cal.Q, -3, 10), actor=FACILITATOR)
    s.record(ebikes, Q, "现场评议：满意 6 人、基本满意 5 人、不满意 17 人。居民反映清理后一周楼道又停满了，"
                        "临时停放区没有充电桩，问题没有根本解决。评议不通过，重新交办。")
    reason = "季度评议不满意：临时停放区没有充电设施，楼道停放充电反弹。重新交办治安保卫委员会，提交月度协调会。"
    followups.rate(s.session, ebikes, Q, Counts(6, 5, 17), actor=FACILITATOR, reason=reason)
    s.step(ebikes, Step.reopen, s.during(ebikes, Q, late=True), actor=FACILITATOR, meeting=Q, note=reason,
           facts=Facts(reason=reason))
    # Reopening returns it to accepted, still with the security committee: it goes to the monthly meeting.
    s.agenda(ebikes, M, between(on(cal.Q, 1, 10), cal.M, 0.3), actor=FACILITATOR, minutes=15)
    s.decide(ebikes, M, "物业公司在2栋与3栋之间空地建设集中充电车棚（20个充电口，投币/扫码计费），一个月内建成；"
                        "解放碑派出所配合开展电动车安全宣传；车棚建成后楼道内禁止停放，治安保卫委员会每周巡查。")
    s.step(ebikes, Step.start, between(cal.M, now, 0.3), actor=LIAISON, note="车棚基础已开挖。")

    # -- in progress: kitchen fumes, coordinated with the departments at the monthly meeting
    fumes = s.raise_(c, on(cal.W_m, -5, 15), title="3栋底楼面馆油烟扰民", category="fumes",
                     place="3栋1单元底商（老街小面）", source=Source.visit, raised_by="3栋住户 刘素珍",
                     actor=FACILITATOR, description=(
                         "3栋临街的面馆后厨排烟管直接对着后面的居民楼，每天早上六点开始煮面、炒臊子，油烟顺着窗户飘进"
                         "2楼、3楼住户家里，衣服晾不干，窗台、纱窗上一层油。住户找老板协商过几次，老板说装了净化器，"
                         "但看不出效果。"))
    s.accept(fumes, on(cal.W_m, -4, 10), env, actor=COMMITTEE_MEMBER)
    s.agenda(fumes, W_m, on(cal.W_m, -2, 10), actor=FACILITATOR)
    s.discuss(fumes, W_m, "面馆老板到场，同意清洗净化器，但说改排烟管道要花钱、要物业同意。"
                          "住户要求城管和市场监管部门到场核查。决定提交月度协调会。")
    duplicate = s.raise_(c, on(cal.W_m, -3, 9), title="面馆排烟管正对卧室窗户", category="fumes",
                         place="3栋1单元201", source=Source.hotline, raised_by="12345热线转办（3栋住户）",
                         actor=FACILITATOR,
                         description="楼下面馆的排烟管正对我家卧室窗户，早上油烟呛得人咳嗽，窗户都不敢开。")
    s.step(duplicate, Step.merge, on(cal.W_m, -2, 10), actor=COMMITTEE_MEMBER,
           note="与“3栋底楼面馆油烟扰民”为同一问题，合并办理。", facts=Facts(merge_into=fumes.id))
    s.agenda(fumes, M, on(cal.M, -5, 10), actor=FACILITATOR, minutes=15)
    s.decide(fumes, M, "由区城市管理局牵头、区市场监督管理局配合，督促面馆15日内更换高效油烟净化设备，"
                       "排烟管道改至楼顶高空排放；物业公司配合施工；环境和物业管理委员会每周回访2楼、3楼住户。")
    # Who does what by when, agreed at the coordination: one owner in time, one late, one overdue.
    agreed = s.during(fumes, M, late=True) + timedelta(minutes=1)
    market = followups.agree(s.session, fumes, M, agreed, what="督促面馆更换高效油烟净化设备",
                             owner=Owner(organisation_id=s.organisations[MARKET_REGULATION].id),
                             owner_name=MARKET_REGULATION, due=between(cal.M, now, 0.6).date(), actor=FACILITATOR)
    owner = followups.landlord(s.session)
    pipe = followups.agree(s.session, fumes, M, agreed, what="同意排烟管道改至楼顶，配合物业施工",
                           owner=Owner(person_id=owner.id), owner_name=owner.name,
                           due=between(cal.M, now, 0.45).date(), actor=FACILITATOR)
    check = followups.agree(s.session, fumes, M, agreed, what="复查面馆油烟排放并出具检测结果",
                            owner=Owner(organisation_id=s.organisations[CITY_MANAGEMENT].id),
                            owner_name=CITY_MANAGEMENT, actor=FACILITATOR,
                            due=min(between(cal.M, now, 0.8).date(), (now - timedelta(days=1)).date()))
    s.step(fumes, Step.start, between(cal.M, now, 0.4), actor=LIAISON,
           note="城管执法队员已现场检查，下达整改通知书，面馆已订购新净化设备。")
    followups.progress(s.session, fumes, market, between(cal.M, now, 0.5), actor="市场监管所 周科长", done=True,
                       note="新净化设备已安装，现场检查运行正常。")
    followups.progress(s.session, fumes, pipe, between(cal.M, now, 0.7), actor=COMMITTEE_MEMBER, done=True,
                       note="房东出差，延期一周后签字同意；物业已完成排烟管道改造。")
    del check  # still open, and overdue: the liaison's to close

    # -- in progress: falling tiles, which needs the repair fund
    tiles = s.raise_(c, on(cal.W_m, -3, 21), title="2栋外墙瓷砖脱落，存在高空坠物隐患", category="safety",
                     place="2栋北侧外墙", source=Source.online, raised_by="2栋住户 彭建华", description=(
                         "前几天下大雨，2栋北面外墙掉下来好几块瓷砖，砸坏了楼下一辆电瓶车的后座。"
                         "那边是上下学的必经之路，孩子多，太危险了。"))
    s.accept(tiles, on(cal.W_m, -2, 10), env, actor=COMMITTEE_MEMBER, note="物业已先拉设警戒线。")
    s.agenda(tiles, M, on(cal.M, -4, 10), actor=FACILITATOR, minutes=15)
    s.decide(tiles, M, "物业公司立即搭设防护网、设置警示标志；区住建委指导启动专项维修资金使用程序，"
                       "由2栋业主表决后实施外墙维修。")
    s.step(tiles, Step.start, between(cal.M, now, 0.2), actor=LIAISON, note="防护网已搭设完毕。")

    # -- discussed, to be voted on at the next weekly talk: the lift of building 5, unit 2
    top = owners[("5", "2", "601")]
    lift = s.raise_(c, cal.W_m + timedelta(minutes=20), title="5栋2单元加装电梯", category="lift", place="5栋2单元",
                    source=Source.meeting, raised_by=f"5栋2单元居民代表 {top.name}（601）", actor=FACILITATOR,
                    meeting=W_m, description=(
                        "5栋2单元是1992年的老房子，6层没有电梯，单元里住了不少七八十岁的老人，上下楼非常吃力，"
                        "有的老人几个月没下过楼。大部分住户希望加装电梯，想了解政策、费用分摊和怎么表决。"))
    s.accept(lift, on(cal.W_m, 1, 10), CommitteeKind.livelihood, actor=FACILITATOR,
             note="交民生保障委员会跟进，请区住建委在月度协调会上介绍政策。")
    s.agenda(lift, M, on(cal.M, -4, 10), actor=FACILITATOR, minutes=20)
    s.discuss(lift, M, "区住建委介绍了老旧住宅加装电梯的财政补助政策和审批流程；物业公司提供了初步方案和费用测算，"
                       "按楼层分摊。低层住户担心采光和噪音。建议由本单元业主按《民法典》第二百七十八条进行表决。")
    s.agenda(lift, Wn, between(cal.M, now, 0.5), actor=FACILITATOR, minutes=30)

    # -- on the agenda of the next weekly talk
    stall = s.raise_(c, between(w1_end, now, 0.3), title="2栋楼下夜宵摊经营到凌晨，喧哗扰民", category="noise",
                     place="2栋临街人行道", source=Source.hotline, raised_by="12345热线转办（2栋住户）",
                     actor=FACILITATOR, description=(
                         "2栋楼下的烧烤夜宵摊每天营业到凌晨两三点，食客划拳喝酒、大声喧哗，还占了半条人行道。"
                         "临街一面的住户天天睡不好。"))
    s.accept(stall, between(w1_end, now, 0.5), env, actor=COMMITTEE_MEMBER)
    s.agenda(stall, Wn, between(w1_end, now, 0.7), actor=FACILITATOR)

    greens = s.raise_(c, on(cal.w2, -2, 15), title="小区绿化带被个别住户开辟种菜", category="greenery",
                      place="1栋与2栋之间绿化带", source=Source.visit, raised_by="网格员上门走访", actor=FACILITATOR,
                      description="1栋和2栋之间的公共绿化带有人拔了草皮种葱蒜、搭竹架种豆角，还浇粪水，其他住户有意见。")
    s.accept(greens, on(cal.w2, -1, 10), env, actor=COMMITTEE_MEMBER)
    s.agenda(greens, Wn, between(w1_end, now, 0.6), actor=FACILITATOR)

    # -- discussed at the last weekly talk, back next week with the canteen's operator
    canteen = s.raise_(c, cal.w1 + timedelta(minutes=5), title="社区老年食堂午餐排队时间长", category="other",
                       place="社区老年食堂", source=Source.meeting, raised_by="4栋住户 袁桂兰", actor=FACILITATOR,
                       meeting=w1,
                       description="老年食堂中午11点开饭，经常排队半个多小时，腿脚不好的老人站不住，希望能改进。")
    s.accept(canteen, cal.w1 + timedelta(minutes=8), CommitteeKind.livelihood, actor=FACILITATOR)
    s.agenda(canteen, w1, cal.w1 + timedelta(minutes=9), actor=FACILITATOR)
    s.discuss(canteen, w1, "大家建议分时段就餐、为80岁以上老人提供送餐。需要食堂运营方到场说明，下周继续议。")
    s.agenda(canteen, Wn, between(w1_end, now, 0.4), actor=FACILITATOR)

    # -- decided: a homestay dispute, mediated over two weekly talks
    homestay = s.raise_(c, on(cal.w2, -4, 9), title="1栋2单元民宿住客深夜喧哗、陌生人频繁进出", category="homestay",
                        place="1栋2单元502", source=Source.hotline, raised_by="1栋2单元住户 唐德明",
                        actor=FACILITATOR, description=(
                            "1栋2单元502被租下来做网约民宿，住客经常半夜拖着行李箱上下楼，凌晨还在屋里唱歌打牌。"
                            "单元门禁卡被随便转借，陌生人进进出出，楼上楼下住户都担心安全。"))
    s.accept(homestay, on(cal.w2, -3, 10), CommitteeKind.mediation, actor=FACILITATOR)
    s.agenda(homestay, w2, on(cal.w2, -1, 10), actor=FACILITATOR, minutes=20)
    s.discuss(homestay, w2, "民宿经营者与住户代表当面沟通。经营者认为自己合法经营；住户要求停业。双方未达成一致，"
                            "人民调解委员会会后分别做工作，下周继续调解。")
    s.agenda(homestay, w1, on(cal.w1, -2, 10), actor=FACILITATOR, minutes=20)
    s.decide(homestay, w1, "人民调解委员会主持，民宿经营者与单元住户代表签订《邻里公约》：晚上10点后不再办理入住，"
                           "住客须实名登记；门禁卡由经营者统一管理，不得转借；解放碑派出所社区民警上门核查住宿登记；"
                           "一个月后回访。")

    # -- decided: clutter in the courtyard
    clutter = s.raise_(c, on(cal.w2, -2, 15), title="5栋前院坝杂物堆放，占用公共空间", category="sanitation",
                       place="5栋前院坝", source=Source.visit, raised_by="网格员上门走访", actor=FACILITATOR,
                       description="5栋前院坝堆了旧沙发、纸箱和废木板，有的放了大半年，既不美观也有火灾隐患。")
    s.accept(clutter, on(cal.w2, -1, 10), env, actor=COMMITTEE_MEMBER)
    s.agenda(clutter, w2, on(cal.w2, -1, 11), actor=FACILITATOR)
    s.decide(clutter, w2, "先张贴通知请物主一周内自行清理；逾期由环境和物业管理委员会组织志愿者周六上午集中清理，"
                          "物业公司负责清运。")

    # -- resolved, awaiting the next quarterly review: square-dance music
    dance = s.raise_(c, on(cal.W_m, -8, 21), title="广场舞音响音量过大", category="noise", place="社区文化广场",
                     source=Source.online, raised_by="6栋住户 夏玉珍", description=(
                         "每天晚上七点到九点半，文化广场有两支广场舞队同时放音乐，音响开得很大，"
                         "临近的6栋住户家里关着窗都听得清清楚楚，孩子没法做作业。"))
    s.accept(dance, on(cal.W_m, -6, 10), CommitteeKind.culture, actor=FACILITATOR)
    s.agenda(dance, W_m, on(cal.W_m, -2, 10), actor=FACILITATOR)
    s.decide(dance, W_m, "文化体育委员会与两支舞蹈队协商：音量控制在60分贝以内，活动时间调整为19:00—20:30，"
                         "两队错开场地，改用定向音箱。")
    s.step(dance, Step.start, on(cal.W_m, 1, 10), actor="文化体育委员会 何委员",
           note="已与两支舞蹈队队长签订文明跳舞承诺书。")
    s.step(dance, Step.resolve, between(on(cal.W_m, 2, 10), now, 0.5), actor="文化体育委员会 何委员",
           note="连续两周晚间抽测，音量在55分贝左右，6栋住户反映明显改善。")

    # -- accepted, not yet scheduled
    lane = s.raise_(c, on(cal.w1, -3, 21), title="消防通道被私家车长期占用", category="parking",
                    place="4栋与5栋之间消防通道", source=Source.online, raised_by="5栋住户 邓志强", description=(
                        "4栋和5栋之间的消防通道晚上停满了私家车，上个月有老人半夜发病，救护车开不进来，"
                        "担架是抬出去的。"))
    s.accept(lane, on(cal.w1, -1, 10), safety, actor=FACILITATOR, note="请物业先摸清车辆情况，再提交恳谈会。")

    # -- raised, waiting for triage
    s.raise_(c, between(w1_end, now, 0.8), title="4栋3单元楼道声控灯坏了", category="safety", place="4栋3单元3楼至6楼",
             source=Source.online, raised_by="4栋住户 付丹",
             description="4栋3单元三楼到六楼的声控灯坏了一个多星期，晚上上下楼一片漆黑，老人已经摔过一跤。")
    s.raise_(c, between(w1_end, now, 0.6), title="文化广场健身器材螺丝松动", category="safety", place="社区文化广场",
             source=Source.visit, raised_by="网格员上门走访", actor=FACILITATOR,
             description="广场上的太空漫步机和扭腰器螺丝松了，晃得厉害，早上锻炼的老人多，担心出事。")

    # -- declined, with the reason told to the resident
    bars = s.raise_(c, on(cal.w2, -5, 9), title="要求社区出资为家里更换防盗窗", category="other", place="6栋2单元302",
                    source=Source.hotline, raised_by="6栋住户 汪国华", actor=FACILITATOR,
                    description="家里的防盗窗锈得很厉害，希望社区出钱帮忙换成不锈钢的。")
    reason = "防盗窗属于业主专有部分，不属于社区公共事务，费用应由业主自行承担；已告知可联系有资质的施工单位。"
    s.step(bars, Step.decline, on(cal.w2, -4, 10), actor=FACILITATOR, note=reason, facts=Facts(reason=reason))


def second_community_issues(s: Story, cal: Calendar, c: Area) -> None:
    weekly = lambda t: cal.meeting(cal.c2_weekly, t)  # noqa: E731 - shorthand for the stories below
    w3, w2, w1, nxt = (weekly(t) for t in (cal.c2_w3, cal.c2_w2, cal.c2_w1, cal.c2_next))
    now = cal.now
    w1_end = cal.c2_w1 + timedelta(minutes=cal.c2_weekly.duration_minutes)
    chair = C2_FACILITATOR

    # -- in progress: homestays crowding the old lanes
    homestay = s.raise_(c, on(cal.c2_w3, -3, 15), title="民宿住客在楼道堆放行李，消防通道不畅", category="homestay",
                        place="白象街3栋1单元", source=Source.visit, raised_by="网格员上门走访", actor=chair,
                        description=(
                            "3栋1单元有四套房子在做民宿，节假日住客多，行李箱、婴儿车堆在楼道和消防通道上，"
                            "晚上还有人在楼道里抽烟打电话。住户担心消防安全，也不满陌生人太多。"))
    s.accept(homestay, on(cal.c2_w3, -2, 10), CommitteeKind.mediation, actor=chair)
    s.agenda(homestay, w3, on(cal.c2_w3, -1, 10), actor=chair, minutes=20)
    s.discuss(homestay, w3, "四家民宿经营者来了三家，同意规范经营，但提出楼道里没有地方放行李。", actor=chair)
    s.agenda(homestay, w2, on(cal.c2_w2, -2, 10), actor=chair, minutes=15)
    s.decide(homestay, w2, "民宿经营者在各自房内设置行李存放区，楼道不得堆放物品；"
                           "派出所和社区联合开展民宿消防安全检查；人民调解委员会牵头制定《白象街民宿经营公约》。",
             actor=chair)
    s.step(homestay, Step.start, between(cal.c2_w2, now, 0.3), actor=chair,
           note="第一次联合检查已完成，楼道已清空。")

    # -- decided: pigeons on the roof
    pigeons = s.raise_(c, on(cal.c2_w2, -2, 9), title="7栋楼顶私搭鸽棚养鸽，粪便堵塞雨水管", category="poultry",
                       place="7栋楼顶平台", source=Source.hotline, raised_by="12345热线转办（7栋顶楼住户）",
                       actor=chair, description=(
                           "7栋楼顶平台有人用铁丝网搭了鸽棚，养了三十多只鸽子。鸽子粪便把雨水管堵了，"
                           "上次下大雨顶楼住户家里渗水，羽毛还飘进窗户。"))
    s.accept(pigeons, on(cal.c2_w2, -1, 10), CommitteeKind.health, actor=chair)
    s.agenda(pigeons, w1, on(cal.c2_w1, -2, 10), actor=chair)
    s.decide(pigeons, w1, "楼顶平台属于全体业主共有部分，养鸽住户两周内自行拆除鸽棚；物业公司疏通雨水管并清洗平台；"
                          "公共卫生委员会做好消杀。", actor=chair)

    # -- resolved: a blocked septic tank
    septic = s.raise_(c, on(cal.c2_w3, -1, 9), title="2栋化粪池堵塞，污水外溢", category="sanitation",
                      place="2栋背后化粪池", source=Source.hotline, raised_by="2栋住户 苏长春", actor=chair,
                      description="2栋背后的化粪池堵了，污水漫到路面上，臭气熏天，进出都要踮着脚走。")
    s.accept(septic, on(cal.c2_w3, -1, 12), CommitteeKind.environment, actor=chair)
    s.agenda(septic, w3, on(cal.c2_w3, 0, 16), actor=chair)
    s.decide(septic, w3, "物业公司三日内请专业单位疏通化粪池并清洗路面；环境和物业管理委员会跟进回访。", actor=chair)
    s.step(septic, Step.start, on(cal.c2_w3, 1, 10), actor=LIAISON, note="疏通作业已安排。")
    s.step(septic, Step.resolve, on(cal.c2_w3, 3, 10), actor=chair,
           note="化粪池已疏通，路面已冲洗消毒，住户确认无异味。")

    # -- resolved: renovation noise at lunchtime
    works = s.raise_(c, on(cal.c2_w2, -3, 21), title="8栋装修中午不停工，噪音扰民", category="noise",
                     place="8栋1单元402", source=Source.online, raised_by="8栋住户 曾淑芬", description=(
                         "8栋1单元402在装修，中午12点到2点电钻、切割机照样响，上夜班的住户白天没法休息。"))
    s.accept(works, on(cal.c2_w2, -2, 10), CommitteeKind.mediation, actor=chair)
    s.agenda(works, w2, on(cal.c2_w2, -1, 10), actor=chair)
    s.decide(works, w2, "装修户与施工队承诺遵守装修时间：工作日8:00—12:00、14:00—18:00，周末不进行高噪音作业；"
                        "物业公司加强巡查。", actor=chair)
    s.step(works, Step.start, on(cal.c2_w2, 1, 10), actor=chair, note="已在单元门口张贴装修时间告示。")
    s.step(works, Step.resolve, between(on(cal.c2_w2, 2, 10), now, 0.6), actor=chair,
           note="两周内未再接到投诉，装修户已按时施工。")

    # -- on the agenda of the next weekly talk, and a duplicate merged into it
    parking = s.raise_(c, between(w1_end, now, 0.2), title="小区停车位划线不合理，外来车辆占位",
                       category="parking", place="白象街小区内部道路", source=Source.online, raised_by="1栋住户 蒋永红",
                       description="小区内的停车位划得太密，车门都打不开；还有外来车辆长期停放，住户下班回来没地方停。")
    s.accept(parking, between(w1_end, now, 0.4), CommitteeKind.environment, actor=chair)
    s.agenda(parking, nxt, between(w1_end, now, 0.6), actor=chair, minutes=15)
    dup = s.raise_(c, between(w1_end, now, 0.5), title="外来车辆占用小区车位", category="parking",
                   place="白象街小区大门内", source=Source.hotline, raised_by="12345热线转办（2栋住户）", actor=chair,
                   description="大门里面的车位经常被外面来的车占着，门卫也不管。")
    s.step(dup, Step.merge, between(w1_end, now, 0.7), actor=chair, note="与“小区停车位划线不合理”合并办理。",
           facts=Facts(merge_into=parking.id))

    # -- accepted: a lift wanted in building 8
    lift = s.raise_(c, cal.c2_w1 + timedelta(minutes=40), title="8栋1单元加装电梯意向征集", category="lift",
                    place="8栋1单元", source=Source.meeting, raised_by="8栋1单元住户 钟德胜", actor=chair, meeting=w1,
                    description="8栋1单元有几户老人想加装电梯，希望社区帮忙先摸一摸全单元业主的意愿。")
    s.accept(lift, between(w1_end, now, 0.3), CommitteeKind.livelihood, actor=chair,
             note="民生保障委员会先逐户征集意向。")

    # -- raised: barbecue smoke
    s.raise_(c, between(w1_end, now, 0.9), title="巷口烧烤摊夜间油烟大", category="fumes", place="白象街巷口",
             source=Source.online, raised_by="3栋住户 秦晓燕",
             description="巷口的烧烤摊每晚用木炭烤串，烟雾直接飘进3栋低层住户家里，晚上没法开窗。")

    # -- declined: a private debt
    debt = s.raise_(c, on(cal.c2_w2, -6, 15), title="要求社区出面追讨私人借款", category="other", place="",
                    source=Source.visit, raised_by="1栋住户 熊大成", actor=chair,
                    description="邻居借了我两万块钱两年不还，希望社区出面帮我要回来。")
    reason = "属于私人债务纠纷，社区无权强制追讨；已告知可申请人民调解委员会调解，或向人民法院起诉。"
    s.step(debt, Step.decline, on(cal.c2_w2, -5, 10), actor=chair, note=reason, facts=Facts(reason=reason))
