"""Tests for forum.households: reading registers as offices save them, every refusal with its line,
and an import that is all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from forum.households import (
    HouseholdRow,
    ImportRefused,
    ImportResult,
    RowError,
    import_file,
    import_rows,
    parse,
)
from forum.models import Area, AreaKind, Household, Person

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


def test_duplicates_in_the_file_point_to_the_first_line():
    errors = refusal(csv_bytes("1,1,101,60,Ann,", "1,1,102,60,Bob,", "1,1,101,61,Cid,", "１,1,102,60,Dan,"))
    assert [(e.line, e.field, e.params["first_line"]) for e in errors] == [(4, "room", 2), (5, "room", 3)]
    assert errors[0].render(lambda message: message) == "Building 1, unit 1, room 101 is already on line 2."


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


def _owners(engine) -> list[tuple[str, str | None, bool, str]]:
    with Session(engine) as session:
        people = session.exec(select(Person, Household).join(Household, Person.household_id == Household.id)
                              .order_by(Person.id)).all()
        return [(p.name, p.phone, p.is_owner, h.room) for p, h in people]


def test_import_creates_households_and_owners(engine, community_id):
    result = import_file(engine, community_id, GOOD_ZH.encode("gbk"))
    assert result == ImportResult(created=2, updated=0)
    assert _households(engine, community_id) == {("5", "2", "101"): Decimal("89.50"),
                                                 ("5", "2", "102"): Decimal("72.35")}
    assert _owners(engine) == [("张建国", "13800001111", True, "101"), ("李秀英", None, True, "102")]


def test_reimport_updates_areas_and_does_not_duplicate_owners(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    again = f"{ZH_HEADER}\n5,2,101,90.10,张建国,13900002222\n5,2,102,72.35,李秀英,\n5,2,201,89.50,王芳,\n"
    result = import_file(engine, community_id, again.encode())
    assert result == ImportResult(created=1, updated=2)
    assert _households(engine, community_id)[("5", "2", "101")] == Decimal("90.10")
    assert _owners(engine) == [("张建国", "13900002222", True, "101"), ("李秀英", None, True, "102"),
                               ("王芳", None, True, "201")]


def test_reimport_without_a_phone_keeps_the_known_one(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    import_file(engine, community_id, "楼栋,单元,房号,面积,业主\n5,2,101,89.50,张建国\n".encode())
    assert _owners(engine)[0] == ("张建国", "13800001111", True, "101")


def test_a_new_owner_replaces_the_old_one_who_stays_on_file(engine, community_id):
    import_file(engine, community_id, GOOD_ZH.encode())
    import_file(engine, community_id, f"{ZH_HEADER}\n5,2,101,89.50,赵明,\n".encode())
    owners = [o for o in _owners(engine) if o[3] == "101"]
    assert owners == [("张建国", "13800001111", False, "101"), ("赵明", None, True, "101")]


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
    assert _owners(engine) == []


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
    assert [(e.line, e.field) for e in info.value.errors] == [(2, "room")]
    assert _households(engine, community_id) == {}


def test_import_rows_wants_a_community(engine, community_id):
    with Session(engine) as session:
        district = session.exec(select(Area).where(Area.kind == AreaKind.district)).one()
        with pytest.raises(ValueError, match="no community"):
            import_rows(session, district.id, parse(GOOD_ZH.encode()))
