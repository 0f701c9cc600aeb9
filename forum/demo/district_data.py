"""The district-year demo's tables: the streets of 渝中区, the names its communities are given, the
organisations around the tables, and what residents raise in each category and what meetings
decide about it. Pools only; forum.demo.district draws from them with a seeded random."""

from __future__ import annotations

from forum.demo.data import CITY_MANAGEMENT, HOUSING, MARKET_REGULATION, PROPERTY, SOCIAL
from forum.models import CommitteeKind, OrganisationKind

# The eleven streets of 渝中区 and how many of its 79 communities each has (they sum to 79).
STREETS = [
    ("解放碑街道", "jiefangbei", 9), ("七星岗街道", "qixinggang", 8), ("大溪沟街道", "daxigou", 6),
    ("上清寺街道", "shangqingsi", 7), ("两路口街道", "lianglukou", 8), ("菜园坝街道", "caiyuanba", 6),
    ("南纪门街道", "nanjimen", 7), ("望龙门街道", "wanglongmen", 6), ("朝天门街道", "chaotianmen", 6),
    ("石油路街道", "shiyoulu", 8), ("化龙桥街道", "hualongqiao", 8),
]
COMMUNITY_COUNT = sum(n for _name, _slug, n in STREETS)

# Community names: a place word and an ending, as Chongqing's are (较场口, 白象街, 十八梯 …).
# (The small demo's 较场口 and 白象街 are left out so both demos can share a database.)
PLACE_WORDS = [
    ("十八梯", "shibati"), ("民生路", "minshenglu"), ("大井巷", "dajingxiang"), ("人和街", "renhejie"),
    ("筷子街", "kuaizijie"), ("解放西路", "jiefangxilu"), ("中华路", "zhonghualu"), ("和平路", "hepinglu"),
    ("领事巷", "lingshixiang"), ("金汤街", "jintangjie"), ("上大梁子", "shangdaliangzi"), ("燕喜洞", "yanxidong"),
    ("枇杷山", "pipashan"), ("鹅岭", "eling"), ("佛图关", "futuguan"), ("嘉陵桥", "jialingqiao"),
    ("桂花园", "guihuayuan"), ("中山四路", "zhongshansilu"), ("学田湾", "xuetianwan"), ("人民村", "renmincun"),
    ("大田湾", "datianwan"), ("文化宫", "wenhuagong"), ("健康路", "jiankanglu"), ("马鞍山", "maanshan"),
    ("响水桥", "xiangshuiqiao"), ("燕子岩", "yanziyan"), ("储奇门", "chuqimen"), ("凯旋路", "kaixuanlu"),
    ("石板坡", "shibanpo"), ("长滨路", "changbinlu"), ("下洪学巷", "xiahongxuexiang"), ("白象居", "baixiangju"),
    ("陕西路", "shaanxilu"), ("新华路", "xinhualu"), ("东水门", "dongshuimen"), ("朝东路", "chaodonglu"),
    ("虎头岩", "hutouyan"), ("李子坝", "liziba"), ("红岩村", "hongyancun"), ("曾家岩", "zengjiayan"),
    ("大坪正街", "dapingzhengjie"), ("牛角沱", "niujiaotuo"), ("北区路", "bequlu"), ("王家坡", "wangjiapo"),
    ("肖家湾", "xiaojiawan"), ("黄花园", "huanghuayuan"), ("张家花园", "zhangjiahuayuan"), ("双钢路", "shuanggang"),
]
ENDINGS = [("", ""), ("东", "-dong"), ("西", "-xi"), ("南", "-nan"), ("北", "-bei")]

# The departments serving the whole district (shared with the small demo where names agree).
DEPARTMENTS = [
    CITY_MANAGEMENT, MARKET_REGULATION, HOUSING, "渝中区生态环境局", "渝中区卫生健康委员会",
    "渝中区民政局", "渝中区文化和旅游发展委员会", "渝中区交通局",
]
PROPERTY_COMPANIES = [
    PROPERTY, "重庆渝中物业管理有限公司", "重庆金汤物业服务有限公司", "重庆嘉陵江畔物业管理有限公司",
    "重庆朝天门物业服务有限公司", "重庆山水人家物业管理有限公司", "重庆两江春城物业服务有限公司",
    "重庆佛图关物业管理有限公司", "重庆鹅岭物业服务有限公司", "重庆巴渝物业管理有限公司",
    "重庆长江物业服务有限公司", "重庆新华物业服务有限公司",
]
SOCIAL_ORGANISATIONS = [SOCIAL, "渝中区乐龄养老服务中心", "渝中区和睦家庭调解服务社", "渝中区青少年活动服务中心"]
POLICE_STATION = "重庆市公安局渝中区分局{street}派出所"  # one a street, named after it
ORGANISATION_KINDS = [(DEPARTMENTS, OrganisationKind.department), (PROPERTY_COMPANIES, OrganisationKind.property),
                      (SOCIAL_ORGANISATIONS, OrganisationKind.social)]

# How often each category is raised (weights), the committee that takes it, and the departments
# (by index into DEPARTMENTS) that coordinate it when it needs outside help.
CATEGORY_MIX = {
    "fumes": (14, CommitteeKind.environment, [0, 1, 3]),
    "poultry": (6, CommitteeKind.health, [0, 4]),
    "homestay": (8, CommitteeKind.mediation, [1, 6]),
    "lift": (5, CommitteeKind.livelihood, [2]),
    "noise": (13, CommitteeKind.mediation, [0, 3]),
    "parking": (14, CommitteeKind.environment, [7, 0]),
    "sanitation": (15, CommitteeKind.health, [0]),
    "safety": (11, CommitteeKind.security, [2, 0]),
    "greenery": (7, CommitteeKind.culture, [0]),
    "other": (7, CommitteeKind.livelihood, [5]),
}

# What residents raise: a title ({b} a building, {u} a unit, {shop} a shop) and a description.
ISSUE_TEXTS = {
    "fumes": [("{b}栋底楼{shop}油烟扰民", "{shop}后厨排烟管对着居民楼，早晚油烟飘进住户家里，窗户不敢开。"),
              ("{b}栋楼下烧烤摊夜间油烟大", "烧烤摊每晚营业到凌晨，烟雾和气味直往低层住户家里灌。"),
              ("{b}栋{shop}排烟管噪音和油烟", "排烟风机声音大，管道漏油，墙面被熏黑。")],
    "poultry": [("{b}栋后院坝有住户圈养鸡鸭", "凌晨鸡叫，气味大，招苍蝇蚊子，老人睡不好。"),
                ("{b}栋楼顶私搭鸽棚", "鸽子粪便堵塞雨水管，羽毛飘进住户窗户。"),
                ("{b}栋门口菜市摊贩宰杀活禽", "活禽宰杀污水横流，气味难闻，存在防疫隐患。")],
    "homestay": [("{b}栋{u}单元民宿住客深夜喧哗", "节假日住客多，深夜拖箱子、大声说话，住户休息受影响。"),
                 ("{b}栋民宿住客在楼道堆放行李", "行李箱、婴儿车堆在楼道和消防通道，陌生人进出频繁。"),
                 ("{b}栋民宿门禁密码外泄", "民宿把单元门禁密码发给住客，单元安全没有保障。")],
    "lift": [("{b}栋{u}单元加装电梯", "老房子六七层没有电梯，老人上下楼吃力，希望加装电梯。"),
             ("{b}栋{u}单元加装电梯费用分摊", "低层住户不同意分摊费用，希望社区组织协商。"),
             ("{b}栋电梯频繁故障", "电梯一个月停了好几次，有老人被困，维保单位响应慢。")],
    "noise": [("{b}栋装修中午不停工", "中午和晚上仍在电钻切割，上夜班的住户没法休息。"),
              ("{b}栋楼下广场舞音响太大", "每晚音响开得很大，持续到十点以后，学生没法做作业。"),
              ("{b}栋{shop}空调外机噪音", "外机对着卧室窗户，夜里嗡嗡响，住户睡不好。")],
    "parking": [("{b}栋门口外来车辆占用车位", "外面的车长期停放，住户下班回来没地方停。"),
                ("{b}栋消防通道被车辆堵塞", "消防通道上常年停着几辆车，救护车都开不进来。"),
                ("小区停车位划线不合理", "车位划得太密，车门打不开，老人上下车困难。"),
                ("{b}栋旁电动车乱停乱放", "电动车停满人行道，轮椅和婴儿车过不去。")],
    "sanitation": [("{b}栋垃圾桶满溢，清运不及时", "垃圾堆在地上，夏天招老鼠，气味熏人。"),
                   ("{b}栋化粪池堵塞，污水外溢", "污水漫到路面，进出要踮着脚走。"),
                   ("{b}栋楼道堆放杂物", "楼道堆满纸箱旧家具，既脏又有火灾隐患。"),
                   ("{b}栋背后下水道反味", "下水道常年反味，雨天还倒灌。")],
    "safety": [("{b}栋电动自行车楼道飞线充电", "楼道里停电动车，插线板拉下来整夜充电，一旦起火后果严重。"),
               ("{b}栋外墙瓷砖脱落", "外墙瓷砖掉落，楼下是上学的必经之路，存在高空坠物隐患。"),
               ("{b}栋{u}单元楼道灯坏了", "楼道灯坏了一个多月，晚上老人上下楼看不见。"),
               ("{b}栋门口堡坎有裂缝", "雨季堡坎裂缝变大，担心垮塌。")],
    "greenery": [("{b}栋旁绿地被私自开垦种菜", "公共绿地被围起来种菜、浇粪水，气味大。"),
                 ("{b}栋门口行道树遮挡采光", "树枝伸到窗前，低层住户白天也要开灯。"),
                 ("小区健身器材损坏", "健身器材生锈松动，老人孩子使用不安全。")],
    "other": [("{b}栋{u}单元独居老人需要帮扶", "独居老人行动不便，买菜看病没人照应。"),
              ("{b}栋住户房屋漏水纠纷", "楼上卫生间漏水到楼下，两家协商不成。"),
              ("希望社区开设老年食堂", "附近老人多，希望有个吃午饭的地方。")],
}
SHOPS = ["面馆", "火锅店", "小炒店", "烧烤店", "串串店", "包子铺", "卤菜店", "茶餐厅"]

# What a meeting decides, and the work it agrees ({org} the outside party, {c} the committee).
DECISIONS = {
    "weekly": ["{c}牵头，两周内上门协调处理，处理结果在下次恳谈会通报。",
               "由{c}会同物业公司现场查看，一周内拿出整改方案并落实。",
               "当事双方当场达成一致，{c}负责督促落实并回访。"],
    "monthly": ["由{org}牵头、{c}配合，限期整改，每周向社区反馈进度。",
                "{org}现场核查后依法处理，物业公司配合；{c}每周回访住户。",
                "{org}与物业公司共同制定方案，一个月内实施完毕。"],
}
ACTIONS = ["上门劝导并送达告知书", "现场核查并出具处理意见", "组织当事双方协商", "完成整改并拍照留存",
           "回访住户并记录意见", "清理现场并消杀", "张贴告示并逐户提醒", "出具检测结果"]
PROGRESS = ["已上门了解情况。", "已联系当事人，约定整改时间。", "整改进行中，完成约一半。", "材料已报送，等待审批。"]
RESOLUTIONS = ["问题已整改到位，回访住户反映良好。", "当事双方签订协议，已按协议执行。", "现场已清理，住户确认无异味。",
               "设施已修复，投入使用。"]
DISSATISFIED = ["整改后一段时间问题反弹，居民不满意，重新交办。", "只做了临时处理，没有根本解决，重新交办。"]
DECLINES = ["属于私人纠纷，已告知可申请人民调解或向法院起诉。", "不属于社区职责范围，已告知向有关部门反映。"]
