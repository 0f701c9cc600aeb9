"""Tests for forum.household_register: reading registers as offices save them, every refusal with its line,
and an import that is all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from forum.household_register import (
    HouseholdRow,
    ImportRefused,
    ImportResult,
    RowError,
    apply_plan,
    import_file,
    import_rows,
    mask_phone,
    parse,
    parse_floor_area,
    plan_import,
)
from forum.models import Area, AreaKind, Household, Ownership, Person

ZH_HEADER = "楼栋,单元,房号,面积,业主,电话"
EN_HEADER = "building,unit,room,floor_area,owner,phone"
GOOD_ZH = f"{ZH_HEADER}\n5,2,101,89.50,张建国,13800001111\n5,2,102,72.35,李秀英,\n"


def refusal(data: bytes) -> list[RowError]:
    with pytest.raises(ImportRefused) as info:
        parse(data)
    return info.value.errors


def csv_bytes(*lines: str, header: str = EN_HEADER, encoding: str = "utf-8") -> bytes:
    return "\n".join([header, *lines]).encode(encoding)


# ---------------------------------------------------------------- encodings and headers


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_parse_reads_utf8_with_or_without_bom_and_gbk(encoding):
    rows = parse(GOOD_ZH.encode(encoding))
    assert rows == [
        HouseholdRow(line=2, building="5", unit="2", room="101", floor_area=Decimal("89.50"), owner="张建国",
                     phone="13800001111"),
        HouseholdRow(line=3, building="5", unit="2", room="102", floor_area=Decimal("72.35"), owner="李秀英",
                     phone=None),
    ]


def test_bom_does_not_hide_the_first_column():
    rows = parse(("\ufeff" + GOOD_ZH).encode("utf-8"))
    assert rows[0].building == "5"


def test_english_headers():
    rows = parse(csv_bytes("1,1,101,60,Ann Lee,+86 138-0000-1111"))
    assert rows == [HouseholdRow(line=2, building="1", unit="1", room="101", floor_area=Decimal("60.00"),
                                 owner="Ann Lee", phone="+86 138-0000-1111")]


@pytest.mark.parametrize("header", [
    "楼栋,单元,房号,专有部分面积,业主姓名,联系电话",
    "楼栋,单元,房号,建筑面积,业主,电话",
    "楼栋号,单元号,房间号,面积（㎡）,业主姓名,手机号码",
    "Building,Unit,Room,Floor area (m²),Owner,Phone",
    "building, unit, room, floor_area_m2, owner_name, tel",
    "序号,楼栋,单元,房号,面积,业主,备注",
])
def test_header_variants(header):
    columns = header.split(",")
    values = {"序号": "1", "备注": "无"}
    # Fill the known columns in their order: building 3, unit 1, room 201, area 66.6, owner 王芳.
    known = iter(["3", "1", "201", "66.6", "王芳", "13912345678"])
    line = ",".join(values[c] if c in values else next(known) for c in columns)
    rows = parse(f"{header}\n{line}\n".encode())
    assert (rows[0].building, rows[0].unit, rows[0].room, rows[0].floor_area, rows[0].owner) == \
        ("3", "1", "201", Decimal("66.60"), "王芳")


def test_exclusive_area_is_preferred_over_gross_area():
    rows = parse("楼栋,单元,房号,建筑面积,专有部分面积,业主\n1,1,101,95.20,80.15,张三\n".encode("gbk"))
    assert rows[0].floor_area == Decimal("80.15")


def test_phone_column_is_optional():
    rows = parse("楼栋,单元,房号,面积,业主\n1,1,101,80,张三\n".encode())
    assert rows[0].phone is None


def test_full_width_digits_and_area_units_are_understood():
    rows = parse("楼栋,单元,房号,面积,业主\n５,２,１０１,89.5㎡,张三\n".encode("gb18030"))
    assert rows[0].key == ("5", "2", "101") and rows[0].floor_area == Decimal("89.50")


@pytest.mark.parametrize("area", ["9" * 40, "1" + "0" * 400, "1" * 30 + ".5"])
def test_an_area_of_more_digits_than_decimals_hold_is_refused_as_too_large(area):
    """Found by tests/test_fuzz.py: past 28 digits rounding to hundredths raised InvalidOperation (a 500)."""
    errors = refusal(csv_bytes(f"1,1,101,{area},Ann"))
    assert [(e.line, e.field, e.params.get("max")) for e in errors] == [(2, "floor_area", Decimal("10000"))]


def test_blank_lines_are_skipped_and_lines_keep_their_numbers():
    rows = parse(f"{EN_HEADER}\n\n1,1,101,60,Ann\n,,,,,\n\n1,1,102,61,Bob\n".encode())
    assert [(r.line, r.room) for r in rows] == [(3, "101"), (6, "102")]


def test_crlf_line_endings_as_excel_writes_them():
    rows = parse(GOOD_ZH.replace("\n", "\r\n").encode("gbk"))
    assert [r.line for r in rows] == [2, 3]


def test_a_quoted_cell_spanning_lines_reports_later_lines_correctly():
    errors = refusal(csv_bytes('1,1,101,60,"Ann\nLee"', "1,1,102,,Bob"))
    assert [(e.line, e.field) for e in errors] == [(4, "floor_area")]


def test_tab_separated_register_pasted_from_excel():
    rows = parse("楼栋\t单元\t房号\t面积\t业主\n1\t1\t101\t60\t张三\n".encode())
    assert rows[0].owner == "张三"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("line", "field", "message_start", "params"), [
    (",1,101,60,Ann,", "building", "Building is missing", {}),
    ("1,,101,60,Ann,", "unit", "Unit is missing", {}),
    ("1,1,,60,Ann,", "room", "Room is missing", {}),
    ("1,1," + "9" * 21 + ",60,Ann,", "room", "Room must be at most", {"max": 20, "value": "9" * 21}),
    ("1,1,101,,Ann,", "floor_area", "Floor area is missing", {}),
    ("1,1,101,abc,Ann,", "floor_area", "Floor area must be a positive number", {"value": "abc"}),
    ("1,1,101,-5,Ann,", "floor_area", "Floor area must be a positive number", {"value": "-5"}),
    ("1,1,101,0,Ann,", "floor_area", "Floor area must be a positive number", {"value": "0"}),
    ("1,1,101,0.00,Ann,", "floor_area", "Floor area must be a positive number", {"value": "0.00"}),
    ("1,1,101,1e2,Ann,", "floor_area", "Floor area must be a positive number", {"value": "1e2"}),
    ("1,1,101,89.567,Ann,", "floor_area", "Floor area may have at most 2 decimals", {"value": "89.567"}),
    ("1,1,101,10000,Ann,", "floor_area", "Floor area must be below", {"max": Decimal("10000"), "value": "10000"}),
    ("1,1,101,60,,", "owner", "Owner name is missing", {}),
    ("1,1,101,60," + "张" * 61 + ",", "owner", "Owner name must be at most", {"max": 60, "length": 61}),
    ("1,1,101,60,Ann,1234", "phone", "Phone may hold only", {"value": "1234"}),
    ("1,1,101,60,Ann," + "1" * 21, "phone", "Phone may hold only", {"value": "1" * 21}),
    ("1,1,101,60,Ann,1.38E+10", "phone", "Phone may hold only", {"value": "1.38E+10"}),
    ("1,1,101,60,Ann,---- -", "phone", "Phone may hold only", {"value": "---- -"}),
    ("1,1,101,60,Ann,,extra", None, "This line has more values", {}),
])
def test_each_refusal_names_its_line_and_field(line, field, message_start, params):
    errors = refusal(csv_bytes("2,1,101,70,Good", line))
    assert len(errors) == 1
    error = errors[0]
    assert (error.line, error.field) == (3, field)
    assert error.message.startswith(message_start)
    assert error.params == params
    assert error.render()  # the message and its params fit together


@pytest.mark.parametrize(("text", "message"), [
    ("0." + "0" * 28 + "1", "Floor area may have at most 2 decimals"),
    ("9" * 400, "Floor area must be below"),
    ("1" + "0" * 29 + ".5", "Floor area must be below"),
    ("0" * 400, "Floor area must be a positive number"),
])
def test_long_areas_are_refused_for_the_right_reason(text, message):
    assert parse_floor_area(text).message.startswith(message)


@pytest.mark.parametrize(("text", "area"), [("0" * 400 + "89.5", "89.50"), ("89.5" + "0" * 400, "89.50"),
                                            ("9999.99", "9999.99"), ("0.01", "0.01")])
def test_long_but_harmless_areas_are_read(text, area):
    assert parse_floor_area(text) == Decimal(area)


def test_boundary_values_are_accepted():
    rows = parse(csv_bytes("1,1,101,0.01,Ann,12345", "1,1,102,9999.99," + "张" * 60 + "," + "1" * 20,
                           "1,1,103,89.500,Bob,"))
    assert [r.floor_area for r in rows] == [Decimal("0.01"), Decimal("9999.99"), Decimal("89.50")]


def test_all_errors_are_reported_together_in_line_order():
    errors = refusal(csv_bytes(
        "1,1,101,60,Ann,",       # line 2: fine
        ",1,102,abc,,12",         # line 3: building, area, owner, phone
        "1,1,103,70,Bob,",       # line 4: fine
        "1,1,104,-1,Cid,",        # line 5: area
    ))
    assert [(e.line, e.field) for e in errors] == [
        (3, "building"), (3, "floor_area"), (3, "owner"), (3, "phone"), (5, "floor_area")]


def test_lines_of_one_unit_must_agree_and_name_each_owner_once():
    errors = refusal(csv_bytes("1,1,101,60,Ann,", "1,1,102,60,Bob,", "1,1,101,61,Cid,", "１,1,102,60,Bob,"))
    assert [(e.line, e.field, e.params["first_line"]) for e in errors] == [(4, "floor_area", 2), (5, "owner", 3)]
    assert errors[0].render(lambda message: message).startswith(
        "Building 1, unit 1, room 101 has floor area 60.00 on line 2")
    assert errors[1].render(lambda message: message) == \
        "Bob is already an owner of building 1, unit 1, room 102 on line 3."


def test_co_owners_are_lines_of_one_unit():
    rows = parse(csv_bytes("1,1,101,60,Ann,13800001111", "1,1,101,60,Bob,"))
    assert [(r.key, r.owner) for r in rows] == [(("1", "1", "101"), "Ann"), (("1", "1", "101"), "Bob")]


DEV_HEADER = "楼栋,单元,房号,面积,业主,电话,开发商持有"


@pytest.mark.parametrize(("cell", "held"), [("是", True), ("Y", True), ("1", True), ("√", True), ("", False),
                                            ("否", False), ("no", False)])
def test_the_developer_column(cell, held):
    rows = parse(f"{DEV_HEADER}\n5,2,101,89.5,,,{cell}\n".encode() if held else
                 f"{DEV_HEADER}\n5,2,101,89.5,张三,,{cell}\n".encode())
    assert rows[0].developer_held is held


def test_a_developer_held_unit_needs_no_owner_and_others_do():
    errors = refusal(f"{DEV_HEADER}\n5,2,101,89.5,,,是\n5,2,102,70,,,\n5,2,103,70,张三,,也许\n".encode())
    assert [(e.line, e.field) for e in errors] == [(3, "owner"), (4, "developer_held")]
    errors = refusal(f"{DEV_HEADER}\n5,2,101,89.5,,,是\n5,2,101,89.5,张三,,否\n".encode())
    assert [(e.line, e.field) for e in errors] == [(3, "developer_held")]


@pytest.mark.parametrize("text", ["9" * 400, "9" * 31, "1" + "0" * 29 + ".5", "NaN", "nan", "Infinity", "-Infinity",
                                  "inf", "-1", "1e400", "1E5", "0x1F", "١٢٣", "٣.٥", "1_000", " ", "sNaN",
                                  "9" * 28 + ".99", "0." + "0" * 28 + "1", "0" * 400, "1." + "1" * 400])
def test_any_floor_area_text_is_an_area_or_a_line_error_never_an_exception(text):
    result = parse_floor_area(text)
    assert isinstance(result, RowError) and result.field == "floor_area"
    assert result.render() and len(result.render()) < 120  # the message fills in, without 400 digits
    errors = refusal(csv_bytes(f"1,1,101,{text},Ann,"))
    assert [(e.line, e.field) for e in errors] == [(2, "floor_area")]


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf", "\ufeff\r\n".encode()])
def test_empty_file_is_refused_on_line_1(data):
    errors = refusal(data)
    assert [(e.line, e.message) for e in errors] == [(1, "The file is empty.")]


def test_a_file_without_a_header_is_refused_on_line_1():
    errors = refusal("5,2,101,89.5,张三\n5,2,102,72,李四\n".encode())
    assert len(errors) == 1 and errors[0].line == 1 and errors[0].message.startswith("The first line must be a header")


def test_missing_required_columns_are_each_named_on_line_1():
    errors = refusal("楼栋,单元,电话\n1,1,138\n".encode())
    assert [(e.line, e.field) for e in errors] == [(1, "room"), (1, "floor_area"), (1, "owner")]
    assert "房号" in errors[0].render()


def test_a_column_twice_is_refused():
    errors = refusal("楼栋,单元,房号,面积,业主,业主\n1,1,101,60,张三,李四\n".encode())
    assert [(e.line, e.field) for e in errors] == [(1, "owner")]


def test_a_header_without_rows_is_refused():
    assert [e.line for e in refusal(f"{ZH_HEADER}\n\n".encode())] == [1]


def test_bytes_that_are_no_text_are_refused():
    errors = refusal(b"\x81\x30\x81")  # not UTF-8, and a truncated GB18030 four-byte sequence
    assert errors[0].line == 1 and errors[0].message.startswith("The file is neither UTF-8 nor GBK")


def test_refusal_message_summarises_the_errors():
    with pytest.raises(ImportRefused, match=r"2 problem\(s\): line 2: .*line 3: "):
        parse(csv_bytes(",1,101,60,Ann,", "1,1,102,60,,"))


# ---------------------------------------------------------------- writing
# ``engine`` is conftest's: an in-memory database migrated to head.


@pytest.fixture
def community_id(engine) -> int:
    with Session(engine) as session:
        district = Area(name="渝中区", kind=AreaKind.district, slug="yz")
        session.add(district)
        session.flush()
        community = Area(name="较场口社区", kind=AreaKind.community, slug="jck", parent_id=district.id)
        session.add(community)
        session.commit()
        return community.id


def _households(engine, community_id) -> dict[tuple[str, str, str], Decimal]:
    with Session(engine) as session:
        rows = session.exec(select(Household).where(Household.community_id == community_id)).all()
        return {(h.building, h.unit, h.room): h.floor_area for h in rows}


def _owners(engine) -> list[tuple[str, str | None, str]]:
    """(name, phone, room) of every ownership, by person and room."""
    with Session(engine) as session:
        people = session.exec(select(Person, Household).join(Ownership, Ownership.person_id == Person.id)
                              .join(Household, Household.id == Ownership.household_id)
                              .order_by(Person.id, Household.room)).all()
        return [(p.name, p.phone, h.room) for p, h in people]


def _people(engine) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        return [(p.name, p.phone) for p in session.exec(select(Person).order_by(Person.id))]


def test_import_creates_households_and_owners(engine, community_id):
    result = import_file(engine, community_id, GOOD_ZH.encode("gbk"))
    assert result == ImportResult(created=2, updated=0)
    assert _households(engine, community_id) == {("5", "2", "101"): Decimal("89.50"),
                                                 ("5", "2", "102"): Decimal("72.35")}
    assert _owners(engine) == [("张建国", "13800001111", "101"), ("李秀英", None, "102")]


def test_reimport_updates_areas_and_does_not_duplicate_owners(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    again = f"{ZH_HEADER}\n5,2,101,90.10,张建国,13900002222\n5,2,102,72.35,李秀英,\n5,2,201,89.50,王芳,\n"
    result = import_file(engine, community_id, again.encode())
    assert result == ImportResult(created=1, updated=2)
    assert _households(engine, community_id)[("5", "2", "101")] == Decimal("90.10")
    # 张建国's new number is his: matched by name as the owner of 101.
    assert _owners(engine) == [("张建国", "13900002222", "101"), ("李秀英", None, "102"), ("王芳", None, "201")]
    assert len(_people(engine)) == 3


def test_reimport_without_a_phone_keeps_the_known_one(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    import_file(engine, community_id, "楼栋,单元,房号,面积,业主\n5,2,101,89.50,张建国\n".encode())
    assert _owners(engine)[0] == ("张建国", "13800001111", "101")


def test_a_new_owner_replaces_the_old_one_who_stays_on_file(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    import_file(engine, community_id, f"{ZH_HEADER}\n5,2,101,89.50,赵明,\n".encode())
    assert [o for o in _owners(engine) if o[2] == "101"] == [("赵明", None, "101")]
    assert ("张建国", "13800001111") in _people(engine)


def test_one_owner_of_several_units_is_one_person_by_name_and_phone(engine, community_id):
    data = (f"{ZH_HEADER}\n5,2,301,106.48,刘德明,13912345678\n5,2,302,89.44,刘德明,13912345678\n"
            "5,2,401,106.48,付刚,\n5,2,401,106.48,蒋淑华,\n"  # a couple, co-owners
            "5,1,101,80,王建国,\n5,3,101,80,王建国,\n")  # two 王建国 without numbers: not assumed one
    import_file(engine, community_id, data.encode())
    assert _owners(engine) == [("刘德明", "13912345678", "301"), ("刘德明", "13912345678", "302"),
                               ("付刚", None, "401"), ("蒋淑华", None, "401"), ("王建国", None, "101"),
                               ("王建国", None, "101")]
    assert _people(engine) == [("刘德明", "13912345678"), ("付刚", None), ("蒋淑华", None), ("王建国", None),
                               ("王建国", None)]


def test_developer_held_units_are_marked_and_may_have_no_owner(engine, community_id):
    import_file(engine, community_id, f"{DEV_HEADER}\n5,2,101,106.48,,,是\n5,2,201,90,张三,,\n".encode())
    with Session(engine) as session:
        marks = {h.room: h.developer_held for h in session.exec(select(Household))}
    assert marks == {"101": True, "201": False}
    assert _owners(engine) == [("张三", None, "201")]
    # Delivered and sold: the mark goes, the buyer comes.
    import_file(engine, community_id, f"{DEV_HEADER}\n5,2,101,106.48,钱七,13300001111,否\n".encode())
    with Session(engine) as session:
        assert not session.exec(select(Household).where(Household.room == "101")).one().developer_held
    assert ("钱七", "13300001111", "101") in _owners(engine)


REGISTER = (f"{DEV_HEADER}\n5,2,101,106.48,,,是\n5,2,102,89.44,,,是\n5,2,301,106.48,刘德明,13912345678,\n"
            "5,2,302,89.44,刘德明,13912345678,\n5,2,401,106.48,付刚,,\n5,2,401,106.48,蒋淑华,,\n5,2,402,89.44,王芳,,\n")


def _snapshot(engine) -> tuple:
    with Session(engine) as session:
        return (sorted((h.id, h.room, h.floor_area, h.developer_held) for h in session.exec(select(Household))),
                sorted((p.id, p.name, p.phone, p.household_id) for p in session.exec(select(Person))),
                sorted((o.household_id, o.person_id) for o in session.exec(select(Ownership))))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_importing_the_same_file_again_changes_nothing(engine, community_id, encoding):
    import_file(engine, community_id, REGISTER.encode(encoding))
    before = _snapshot(engine)
    with Session(engine) as session:
        plan = plan_import(session, community_id, parse(REGISTER.encode(encoding)))
        assert plan.changes == 0 and plan.new_people == 0
    assert import_file(engine, community_id, REGISTER.encode(encoding)) == ImportResult(created=0, updated=6)
    assert _snapshot(engine) == before


def test_the_preview_says_what_will_change_and_writes_nothing(engine, community_id):
    import_file(engine, community_id, REGISTER.encode())
    before = _snapshot(engine)
    changed = (f"{DEV_HEADER}\n5,2,101,106.48,孙丽,13600001234,否\n"  # delivered and sold
               "5,2,102,89.44,,,是\n5,2,301,106.50,刘德明,13912345678,\n"  # area corrected
               "5,2,302,89.44,刘德明,13912345678,\n5,2,401,106.48,付刚,13811112222,\n"  # 蒋淑华 gone; a phone
               "5,2,402,89.44,王芳,,\n5,2,501,106.48,刘德明,13912345678,\n")  # 刘德明 buys a third
    with Session(engine) as session:
        plan = plan_import(session, community_id, parse(changed.encode()))
        assert plan.new_units == [("5-2-501", "106.48", False)]
        assert plan.area_changes == [("5-2-301", "106.48", "106.50")]
        assert plan.developer_changes == [("5-2-101", False)]
        assert plan.owners_added == [("5-2-101", "孙丽", "136****1234"), ("5-2-501", "刘德明", "139****5678")]
        assert plan.owners_removed == [("5-2-401", "蒋淑华", "")]
        assert plan.phone_changes == [("付刚", "", "138****2222")]
        assert plan.new_people == 1 and plan.several_units == [("刘德明", "139****5678", 3)]
        assert (plan.created, plan.updated) == (1, 6)
        session.rollback()
    assert _snapshot(engine) == before
    with Session(engine) as session:
        plan = plan_import(session, community_id, parse(changed.encode()))
        apply_plan(session, plan)
        session.commit()
        again = plan_import(session, community_id, parse(changed.encode()))
        assert again.changes == 0
    assert [o for o in _owners(engine) if o[0] == "刘德明"] == [
        ("刘德明", "13912345678", "301"), ("刘德明", "13912345678", "302"), ("刘德明", "13912345678", "501")]


def test_the_preview_fingerprint_follows_the_changes(engine, community_id):
    with Session(engine) as session:
        first = plan_import(session, community_id, parse(GOOD_ZH.encode())).digest()
        assert plan_import(session, community_id, parse(GOOD_ZH.encode("gbk"))).digest() == first
    import_file(engine, community_id, GOOD_ZH.encode())
    with Session(engine) as session:
        assert plan_import(session, community_id, parse(GOOD_ZH.encode())).digest() != first
    # Two numbers that look alike masked (138****1111) are still told apart.
    one = f"{ZH_HEADER}\n5,2,101,89.50,张建国,13812341111\n".encode()
    other = f"{ZH_HEADER}\n5,2,101,89.50,张建国,13856781111\n".encode()
    with Session(engine) as session:
        a, b = (plan_import(session, community_id, parse(data)) for data in (one, other))
        assert a.phone_changes == b.phone_changes and a.digest() != b.digest()


@pytest.mark.parametrize(("phone", "shown"), [("13812345678", "138****5678"), ("+86 138-1234-5678", "+86****5678"),
                                              ("12345", "1***5"), (None, ""), ("", "")])
def test_phones_are_masked_for_display(phone, shown):
    assert mask_phone(phone) == shown


def test_households_of_another_community_are_not_touched(engine, community_id):
    with Session(engine) as session:
        other = Area(name="白象街社区", kind=AreaKind.community, slug="bxj")
        session.add(other)
        session.commit()
        other_id = other.id
    import_file(engine, other_id, GOOD_ZH.encode())
    assert import_file(engine, community_id, GOOD_ZH.encode()) == ImportResult(created=2, updated=0)
    assert len(_households(engine, other_id)) == 2 and len(_households(engine, community_id)) == 2


def test_a_bad_row_means_nothing_is_written(engine, community_id):
    bad = f"{ZH_HEADER}\n5,2,101,89.50,张建国,\n5,2,102,很大,李秀英,\n"
    with pytest.raises(ImportRefused):
        import_file(engine, community_id, bad.encode())
    assert _households(engine, community_id) == {}
    assert _owners(engine) == [] and _people(engine) == []


def test_import_rows_writes_nothing_when_the_caller_rolls_back(engine, community_id):
    rows = parse(GOOD_ZH.encode())
    with Session(engine) as session:
        assert import_rows(session, community_id, rows) == ImportResult(created=2, updated=0)
        session.rollback()
    assert _households(engine, community_id) == {}


def test_a_failure_midway_leaves_the_database_as_it_was(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    rows = parse(f"{ZH_HEADER}\n5,2,101,95.00,张建国,\n5,2,301,80.00,陈红,\n5,2,302,80.00,陈兰,\n".encode())
    # The last row breaks NOT NULL, so the database refuses it after the first rows were flushed.
    object.__setattr__(rows[-1], "floor_area", None)
    with Session(engine) as session:
        with pytest.raises(IntegrityError):
            import_rows(session, community_id, rows)
        session.rollback()
    assert _households(engine, community_id) == {("5", "2", "101"): Decimal("89.50"),
                                                 ("5", "2", "102"): Decimal("72.35")}


def test_import_rows_refuses_duplicate_rows_before_writing(engine, community_id):
    row = parse(GOOD_ZH.encode())[0]
    with Session(engine) as session, pytest.raises(ImportRefused) as info:
        import_rows(session, community_id, [row, row])
    assert [(e.line, e.field) for e in info.value.errors] == [(2, "owner")]
    assert _households(engine, community_id) == {}


def test_import_rows_wants_a_community(engine, community_id):
    with Session(engine) as session:
        district = session.exec(select(Area).where(Area.kind == AreaKind.district)).one()
        with pytest.raises(ValueError, match="no community"):
            import_rows(session, district.id, parse(GOOD_ZH.encode()))
