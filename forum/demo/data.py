"""The demo's data tables: the places, organisations, sign-ins, the lift stairwell's owners, the
pools names are drawn from, who acts in the stories, and what residents write."""

from __future__ import annotations

from forum.models import CommitteeKind, OrganisationKind, Role

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

SURNAMES = ("王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林谭冉向彭邓唐袁蒋曾谢韩冯熊余程汪傅秦廖蔡苏卢杜"
             "魏钟肖严夏田付任龚方石姚")
GIVEN_NAMES = ("建国 建华 国强 秀英 桂兰 淑芬 玉兰 德明 永红 红梅 志强 丽华 明 军 勇 静 敏 芳 伟 磊 婷 晓燕 海燕 文华 "
          "光荣 家福 成 学军 兴华 春梅 素珍 凤英 小平 世明 华 英 琼 利 平 刚 彬 涛 洁 霞 俊 玲 兰 福生 长春 "
          "翠华 明亮 德胜 永福 玉珍 国华 顺 富贵 大成 少华 开明 跃进 卫东 红英 燕 丹 鹏 浩 宇 欣怡 梓涵 "
          "思远 一鸣 雨桐 子轩 国平 晓东 庆 蓉 渝生 秀兰 昌盛").split()
MOBILE_PREFIXES = ("133", "135", "136", "138", "139", "151", "152", "158", "159", "177", "180", "186", "189")

# Who acts in the stories: the demo sign-ins by display name, and committee members by title.
FACILITATOR = "王主任"
COMMITTEE_MEMBER = "李委员"
LIAISON = "张联络"
C2_FACILITATOR = "白象街社区 陈书记"
# Visitors without a flat in the register: a tenant, a shop owner, a volunteer, the property manager.
GUESTS = ["租户小刘", "面馆老板陈师傅", "志愿者小周", "物业管家李经理"]


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
