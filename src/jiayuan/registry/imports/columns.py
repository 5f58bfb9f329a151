"""The registry's spreadsheets: Chinese labels of its vocabularies, and the columns of each import template and
export. A list exported with every digit visible can be imported again as it is."""

from __future__ import annotations

from jiayuan.kit.excel import Column
from jiayuan.registry.models import (
    ORGANIZATION_KINDS,
    RESIDENCE_TYPES,
    ROOM_USES,
    TAGS,
    THING_KINDS,
    THING_STATUSES,
)

# Labels as the template's drop-down lists show them; a cell may also hold the English code.
RESIDENCE_LABELS = {"registered": "户籍", "floating": "流动", "foreign": "境外", "unsettled": "未落户"}
ROOM_USE_LABELS = {"self_occupied": "自住", "rented": "出租", "vacant": "空置", "commercial": "商用"}
TAG_LABELS = {"aged_60": "60岁以上", "aged_80": "80岁以上", "living_alone": "独居", "empty_nest": "空巢",
              "disabled": "残疾", "allowance": "低保", "left_behind_child": "留守儿童", "entitled": "优抚对象",
              "attention": "重点关注"}
THING_KIND_LABELS = {"street_lamp": "路灯", "manhole_cover": "井盖", "well": "水井", "septic_tank": "化粪池",
                     "hydrant": "消防栓", "camera": "摄像头", "anti_theft_door": "防盗门", "pocket_park": "口袋公园",
                     "fitness_equipment": "健身器材", "other": "其他"}
THING_STATUS_LABELS = {"ok": "完好", "damaged": "损坏", "missing": "丢失", "removed": "已拆除"}
ORGANIZATION_KIND_LABELS = {"enterprise": "企业", "social_welfare": "公益类社会组织",
                            "social_charity": "慈善类社会组织", "social_service": "服务类社会组织",
                            "social_rights": "维权类社会组织", "property_company": "物业公司",
                            "homeowners_committee": "业主委员会"}
RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "祖父母", "其他")
HEAD = "户主"
SEX_LABELS = {"male": "男", "female": "女"}

for _codes, _labels in ((RESIDENCE_TYPES, RESIDENCE_LABELS), (ROOM_USES, ROOM_USE_LABELS), (TAGS, TAG_LABELS),
                        (THING_KINDS, THING_KIND_LABELS), (THING_STATUSES, THING_STATUS_LABELS),
                        (ORGANIZATION_KINDS, ORGANIZATION_KIND_LABELS)):
    assert set(_codes) == set(_labels), f"labels out of step with the vocabulary: {set(_codes) ^ set(_labels)}"

# Age groups follow from the birth date in the ID number: they are never imported.
IMPORTABLE_TAGS = tuple(t for t in TAGS if t not in ("aged_60", "aged_80"))

_GRID = Column("grid_code", "网格编码", required=True, text=True, width=18, aliases=("网格", "网格代码", "grid"),
               note="15 位网格编码，须在您负责的范围内")
_COMPOUND_NOTE = "小区名称，与系统中的小区名称一致；独栋楼房可留空"

PEOPLE = (
    Column("name", "姓名", required=True, width=10, note="最多 60 个字"),
    Column("id_number", "身份证号", required=True, text=True, width=22, aliases=("身份证", "身份证号码", "公民身份号码"),
           note="18 位居民身份证号码，按文本填写（末位 X 大小写均可）；同一身份证号再次导入时更新该人，不会重复"),
    Column("phone", "手机号", text=True, width=14, aliases=("手机", "手机号码", "联系电话", "电话"),
           note="11 位手机号，可带 +86"),
    _GRID,
    Column("residence_type", "居住类型", choices=tuple(RESIDENCE_LABELS[c] for c in RESIDENCE_TYPES), width=10,
           note="户籍、流动、境外或未落户；留空为户籍"),
    Column("floating_expires_on", "流动人口到期日", width=14, aliases=("到期日", "居住证到期日"),
           note="流动人口必填，日期如 2026-12-31"),
    Column("compound", "小区", width=16, note=_COMPOUND_NOTE),
    Column("building", "楼栋", width=8, aliases=("楼号",), note="如 3栋；填写住址时必填"),
    Column("entrance", "单元", width=8, note="如 2单元；没有单元可留空"),
    Column("room", "房号", text=True, width=8, aliases=("房间号", "门牌号"),
           note="如 502；住址须是已登记的房屋（先用房屋模板导入）"),
    Column("household_number", "户号", text=True, width=14, note="同一网格内户号相同的人为一户"),
    Column("relation", "与户主关系", choices=RELATIONS, width=12, aliases=("关系",),
           note="填写户号时必填；“户主”即为该户户主"),
    Column("tags", "标签", width=16, aliases=("人群标签",),
           note="多个用分号分隔，如“独居;低保”。可用：" + "、".join(TAG_LABELS[t] for t in IMPORTABLE_TAGS)
           + "（年龄段由身份证号自动得出）"),
    Column("notes", "备注", width=20, note="最多 500 个字"),
)

HOUSES = (
    _GRID,
    Column("compound", "小区", width=16, aliases=("小区名称",), note=_COMPOUND_NOTE),
    Column("building", "楼栋", required=True, width=8, aliases=("楼号",), note="如 3栋"),
    Column("entrance", "单元", width=8, note="如 2单元；没有单元可留空"),
    Column("number", "房号", required=True, text=True, width=8, aliases=("房间号", "门牌号"), note="如 502"),
    Column("use", "房屋用途", required=True, choices=tuple(ROOM_USE_LABELS[c] for c in ROOM_USES), width=10,
           aliases=("用途",), note="自住、出租、空置或商用"),
    Column("area", "面积", width=10, aliases=("面积（平方米）", "建筑面积"), note="平方米，可留空"),
    Column("floors", "楼层数", width=8, aliases=("总层数",), note="该楼栋的层数，1 至 200，可留空"),
)

FACILITIES = (
    Column("kind", "设施类型", required=True, choices=tuple(THING_KIND_LABELS[c] for c in THING_KINDS), width=12,
           aliases=("类型",), note="路灯、井盖、消防栓等"),
    Column("code", "设施编号", required=True, text=True, width=16, aliases=("编号", "部件编号"),
           note="部件自身的编号，全区唯一；同一编号再次导入时更新该设施"),
    Column("name", "名称", width=16, note="可留空"),
    Column("grid_code", "网格编码", text=True, width=18, aliases=("网格",),
           note="15 位网格编码；填写了经纬度时可留空，由位置确定网格"),
    Column("lat", "纬度", width=12, note="WGS-84 纬度，如 27.1123"),
    Column("lon", "经度", width=12, note="WGS-84 经度，如 114.9871"),
    Column("status", "状态", choices=tuple(THING_STATUS_LABELS[c] for c in THING_STATUSES), width=8,
           note="完好、损坏、丢失或已拆除；新设施留空为完好"),
    Column("owner", "权属单位", width=16, note="可留空"),
    Column("maintainer", "养护单位", width=16, note="可留空"),
    Column("installed_on", "安装日期", width=12, note="日期如 2020-05-01，不能晚于今天"),
)

ORGANIZATIONS = (
    Column("name", "组织名称", required=True, width=24, aliases=("名称",), note="最多 120 个字"),
    Column("kind", "组织类型", required=True, choices=tuple(ORGANIZATION_KIND_LABELS[c] for c in ORGANIZATION_KINDS),
           width=16, aliases=("类型",), note="企业、社会组织、物业公司或业主委员会"),
    Column("credit_code", "统一社会信用代码", text=True, width=22, aliases=("信用代码",),
           note="18 位统一社会信用代码；业主委员会没有可留空；同一代码再次导入时更新该组织"),
    _GRID,
    Column("address", "地址", width=24, note="最多 200 个字"),
    Column("contact_name", "联系人", width=10, note="可留空"),
    Column("contact_phone", "联系电话", text=True, width=14, aliases=("联系人手机",), note="11 位手机号，可留空"),
    Column("staff_count", "从业人数", width=8, aliases=("人数",), note="整数，可留空"),
)

COLUMNS = {"people": PEOPLE, "houses": HOUSES, "facilities": FACILITIES, "organizations": ORGANIZATIONS}
SHEETS = {"people": "人口", "houses": "房屋", "facilities": "设施", "organizations": "组织"}
NOTES = (
    "第一行是表头，请勿修改列名；带 * 的列必填。从第二行起每行一条记录，空行会被跳过。",
    "身份证号、手机号、编码等列请按文本填写，以免 Excel 把长数字改成科学计数法而丢失末几位。",
    "导入时逐行校验：默认只要有一行出错就全部不导入，并给出错误报告（行号、列、原因）；也可选择只导入无误的行。",
    "再次导入同一文件只会更新，不会重复：人员按身份证号，房屋按网格、小区、楼栋、单元、房号，设施按编号，组织按统一社会信用代码。",
    "更新已有记录时，空白单元格不会清除系统中原有的内容。",
    "每一行都须在您负责的网格范围内。",
)

# Export-only columns, after the importable ones (an import ignores them).
BIRTH_DATE = Column("birth_date", "出生日期", width=12)
SEX = Column("sex", "性别", width=6)
AGE = Column("age", "年龄", width=6)
ACTIVE = Column("active", "在册", width=6)
COMPOUNDS = (
    Column("grid_code", "网格编码", text=True, width=18),
    Column("name", "小区名称", width=20),
    Column("address", "地址", width=24),
    Column("property_company", "物业公司", width=20),
    Column("lat", "纬度", width=12),
    Column("lon", "经度", width=12),
)
