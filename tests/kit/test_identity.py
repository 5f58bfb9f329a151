"""Identity validators against hand-computed, real and generated numbers, and against single-character errors."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiayuan.kit.errors import Invalid
from jiayuan.kit.identity import (
    CREDIT_CATEGORIES,
    CREDIT_DEPARTMENTS,
    mask_id_number,
    mask_phone,
    parse_credit_code,
    parse_id_number,
    parse_mobile,
)

TODAY = date(2025, 6, 1)

# Independent, deliberately plain re-implementations: the tests must not trust the module's own helpers.


def ref_id_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = 0
    for i in range(17):
        total += int(first17[i]) * weights[i]
    return ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"][total % 11]


CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def ref_credit_check(first17: str) -> str:
    total = 0
    for i in range(17):
        total += CREDIT_ALPHABET.index(first17[i]) * (3**i % 31)  # weights 1, 3, 9, 27, 19, …
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def ref_org_check(body8: str) -> str:
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = 0
    for i in range(8):
        c = body8[i]
        total += (ord(c) - ord("0") if c.isdigit() else ord(c) - ord("A") + 10) * weights[i]
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_id(region: str, birth: str, serial: str) -> str:
    first17 = region + birth + serial
    return first17 + ref_id_check(first17)


def make_credit(department: str, kind: str, region: str, body8: str) -> str:
    first17 = department + kind + region + body8 + ref_org_check(body8)
    return first17 + ref_credit_check(first17)


def assert_invalid(call, field: str, *words: str) -> None:
    with pytest.raises(Invalid) as caught:
        call()
    assert caught.value.field == field
    for word in words:
        assert word in caught.value.message


# --- ID numbers -----------------------------------------------------------------------------------


def test_reference_check_matches_the_standard_example() -> None:
    # The worked example printed in GB 11643-1999, annex: 11010519491231002X.
    assert ref_id_check("11010519491231002") == "X"
    assert parse_id_number("11010519491231002X", today=TODAY).sex == "female"


def test_id_number_for_a_known_birth_date() -> None:
    number = make_id("360802", "19900101", "123")
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.value == number
    assert parsed.region == "360802"
    assert parsed.birth_date == date(1990, 1, 1)
    assert parsed.sex == "male"  # 17th digit 3 is odd
    assert parsed.age(date(2025, 1, 1)) == 35
    assert parsed.age(date(2024, 12, 31)) == 34
    assert parse_id_number(make_id("360802", "19900101", "124"), today=TODAY).sex == "female"


def test_leap_day_birth_and_age() -> None:
    parsed = parse_id_number(make_id("110105", "20000229", "015"), today=TODAY)
    assert parsed.birth_date == date(2000, 2, 29)
    assert parsed.age(date(2001, 2, 28)) == 0
    assert parsed.age(date(2001, 3, 1)) == 1


def test_lower_case_x_spaces_and_full_width_accepted() -> None:
    number = "11010519491231002X"
    assert parse_id_number(" 11010519491231002x \t", today=TODAY).value == number
    assert parse_id_number("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).value == number


def test_id_number_refusals_name_the_rule() -> None:
    good = make_id("360802", "19900101", "123")
    assert_invalid(lambda: parse_id_number(""), "id_number", "required")
    assert_invalid(lambda: parse_id_number(good[:17]), "id_number", "18 characters", "17")
    assert_invalid(lambda: parse_id_number(good + "1"), "id_number", "18 characters")
    assert_invalid(lambda: parse_id_number("36080219900101A23X"), "id_number", "17 digits")
    assert_invalid(lambda: parse_id_number("X60802199001011234"), "id_number", "17 digits")
    assert_invalid(
        lambda: parse_id_number(make_id("360802", "19900230", "123")), "id_number", "birth date", "19900230"
    )
    assert_invalid(lambda: parse_id_number(make_id("360802", "19901301", "123")), "id_number", "birth date")
    assert_invalid(
        lambda: parse_id_number(make_id("360802", "20250602", "123"), today=TODAY), "id_number", "future"
    )
    assert_invalid(lambda: parse_id_number(make_id("360802", "17991231", "123")), "id_number", "1800")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert_invalid(lambda: parse_id_number(wrong), "id_number", "check character")
    assert_invalid(
        lambda: parse_id_number(good[:17] + "X" if good[17] != "X" else good[:17] + "0"),
        "id_number",
        "check character",
    )


def test_field_name_is_the_callers() -> None:
    assert_invalid(lambda: parse_id_number("123", field="rows[3].id_number"), "rows[3].id_number")


def test_birth_today_is_accepted() -> None:
    assert parse_id_number(make_id("360802", "20250601", "001"), today=TODAY).age(TODAY) == 0


def test_mask_id_number_exact() -> None:
    # The province and the check character only: neither the place code nor any digit of the birth date or serial.
    assert mask_id_number("36080219900101123X") == "36***************X"
    assert mask_id_number(" 36080219900101123x ") == "36***************X"
    assert mask_id_number("360802900101123") == "36************3"  # legacy 15 digits: still masked
    assert mask_id_number("123") == "****"


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "*******5678"), ("138 1234 5678", "*******5678"), ("+86 138-1234-5678", "+86 *******5678"),
    ("0791-88123456", "********3456"), ("8221234", "****34"), ("110", "****"), ("", "****")])
def test_mask_phone_keeps_at_most_the_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
    assert "19900101" not in repr(parse_id_number(make_id("360802", "19900101", "123"), today=TODAY))


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    region = draw(st.from_regex(r"[1-8][0-9]{5}", fullmatch=True))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    serial = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return make_id(region, birth.strftime("%Y%m%d"), serial)


@settings(max_examples=200, deadline=None)
@given(valid_ids())
def test_generated_ids_parse(number: str) -> None:
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.value == number
    assert parsed.birth_date.strftime("%Y%m%d") == number[6:14]
    assert parse_id_number(number.lower(), today=TODAY).value == number


@settings(max_examples=300, deadline=None)
@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789XA"))
def test_any_single_character_change_is_refused(number: str, position: int, replacement: str) -> None:
    if number[position] == replacement:
        return
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(Invalid):
        parse_id_number(changed, today=TODAY)


# --- Credit codes ---------------------------------------------------------------------------------

# Published codes of large companies, plus one from a public bug report: both check characters hold.
REAL_CODES = ["91440300708461136T", "91330100799655058B", "914403001922038216", "12440600MB2C07549J"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_credit_codes(code: str) -> None:
    parsed = parse_credit_code(code)
    assert (parsed.department, parsed.kind, parsed.region, parsed.organization_code) == (
        code[0],
        code[1],
        code[2:8],
        code[8:17],
    )
    assert parse_credit_code(f"  {code.lower()} ").value == code


@pytest.mark.parametrize(
    ("department", "kind"),
    [("9", "1"), ("Y", "1"), ("A", "1"), ("N", "2"), ("5", "1"), ("1", "2"), ("8", "1")],
)
def test_departments_accepted(department: str, kind: str) -> None:
    code = make_credit(department, kind, "360802", "MA35H7K2")
    assert parse_credit_code(code).department == department


def test_department_list_matches_the_documented_set() -> None:
    assert set(CREDIT_DEPARTMENTS) == set("123456789ANY")


@pytest.mark.parametrize("department", ["0", "B", "G", "J", "X"])
def test_unknown_department_refused(department: str) -> None:
    # Both check characters are right, so only the department rule can refuse it.
    code = make_credit(department, "1", "360802", "MA35H7K2")
    assert_invalid(lambda: parse_credit_code(code), "credit_code", "department", department)


def test_credit_code_refusals() -> None:
    good = make_credit("9", "1", "360802", "MA35H7K2")
    assert_invalid(lambda: parse_credit_code(" "), "credit_code", "required")
    assert_invalid(lambda: parse_credit_code(good[:17]), "credit_code", "18 characters")
    assert_invalid(lambda: parse_credit_code("91360802MA35H7KI" + good[16:]), "credit_code", "I, O, Z, S, V")
    assert_invalid(
        lambda: parse_credit_code("9136080AMA35H7K2" + good[16:]), "credit_code", "positions 3 to 8"
    )
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert_invalid(lambda: parse_credit_code(wrong), "credit_code", "check character")
    assert_invalid(lambda: parse_credit_code("91350203M0001QKT19"), "credit_code", "check character")


def test_wrong_organization_check_character_refused() -> None:
    body = "MA35H7K2"
    bad_org = "0" if ref_org_check(body) != "0" else "1"
    first17 = "91360802" + body + bad_org
    code = first17 + ref_credit_check(first17)  # the 18th is right, only the 17th is wrong
    assert_invalid(lambda: parse_credit_code(code, field="org.code"), "org.code", "organization code")


def test_the_standards_own_example_born_in_1880_is_accepted() -> None:
    """GB 11643-1999's example number: born on 1 January 1880, a man."""
    parsed = parse_id_number("440524188001010014")
    assert (parsed.birth_date, parsed.sex) == (date(1880, 1, 1), "male")


@pytest.mark.parametrize(("department", "kind"), [("9", "4"), ("9", "9"), ("Y", "2"), ("5", "4"), ("2", "2")])
def test_a_category_the_department_does_not_issue_is_refused(department: str, kind: str) -> None:
    """GB 32100's table: the 2nd character is a category within the 1st (9 issues 1 enterprise, 2 individual
    business, 3 farmers' cooperative; never 4). Both check characters are right: only that rule can refuse it."""
    code = make_credit(department, kind, "360802", "MA35H7K2")
    assert_invalid(lambda: parse_credit_code(code), "credit_code", "category")


@st.composite
def valid_credit_codes(draw: st.DrawFn) -> str:
    department = draw(st.sampled_from(sorted(CREDIT_DEPARTMENTS)))
    kind = draw(st.sampled_from(CREDIT_CATEGORIES[department]))
    region = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    body = "".join(draw(st.lists(st.sampled_from(CREDIT_ALPHABET), min_size=8, max_size=8)))
    return make_credit(department, kind, region, body)


@settings(max_examples=200, deadline=None)
@given(valid_credit_codes())
def test_generated_credit_codes_parse(code: str) -> None:
    assert parse_credit_code(code).value == code
    assert parse_credit_code(code.lower()).value == code


@settings(max_examples=300, deadline=None)
@given(valid_credit_codes(), st.integers(0, 17), st.sampled_from(CREDIT_ALPHABET + "IOZSV"))
def test_any_single_credit_character_change_is_refused(code: str, position: int, replacement: str) -> None:
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(Invalid):
        parse_credit_code(changed)


# --- Mobile numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138-1234-5678",
        "86 138 1234 5678",
        "+8613812345678",
        "8613812345678",
        " 138 1234 5678 ",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_normalised(raw: str) -> None:
    assert parse_mobile(raw) == "13812345678"


def test_mobile_prefixes() -> None:
    assert parse_mobile("19912345678") == "19912345678"
    assert parse_mobile("+86 166 0000 0000") == "16600000000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12812345678",
        "1381234567",
        "138123456789",
        "+1 138 1234 5678",
        "138-1234-567a",
        "010-12345678",
        "+86",
        "0086 138 1234 5678 9",
    ],
)
def test_mobile_refused(raw: str) -> None:
    assert_invalid(lambda: parse_mobile(raw, field="contact_phone"), "contact_phone")
