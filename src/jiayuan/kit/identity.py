"""Identity validators: citizen ID numbers (GB 11643), social credit codes (GB 32100), mainland mobiles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from datetime import date
from operator import mul

from jiayuan.kit.errors import Invalid

__all__ = [
    "CREDIT_DEPARTMENTS",
    "CreditCode",
    "IdNumber",
    "credit_check_char",
    "id_check_char",
    "mask_free_text",
    "mask_id_number",
    "mask_phone",
    "organization_check_char",
    "parse_credit_code",
    "parse_id_number",
    "parse_mobile",
]


def _clean(value: str | None) -> str:
    # NFKC turns full-width digits and letters (common from Chinese input methods, "１３８") into ASCII,
    # so a correct number typed in the wrong width is not refused; case is then normalised by the caller.
    return unicodedata.normalize("NFKC", value or "").strip()


# --- Citizen ID numbers: GB 11643-1999 -------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11): ISO 7064 MOD 11-2
# [0-9] rather than \d: \d also matches other scripts' digits, which are not part of the standard.
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# GB 11643-1999's own example (440524188001010014) was born in 1880: the standard admits any year of four digits;
# 1800 keeps out typing slips such as 0980 while admitting every number the standard's examples use.
_EARLIEST_BIRTH = date(1800, 1, 1)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != len(_ID_WEIGHTS):
        raise ValueError(f"need 17 digits, got {len(first17)}")
    # map() rather than a generator: the demo district makes 225,000 numbers, and this is 2.5 times faster.
    return _ID_CHECK_CHARS[sum(map(mul, map(int, first17), _ID_WEIGHTS)) % 11]


@dataclass(frozen=True, slots=True)
class IdNumber:
    value: str  # normalised: 18 characters, upper-case X
    region: str  # 6-digit administrative division code of the place of first registration
    birth_date: date
    sex: str  # "male" or "female", from the parity of the 17th digit

    def age(self, on: date | None = None) -> int:
        """Completed years on `on` (today by default)."""
        on = on or date.today()
        return (
            on.year
            - self.birth_date.year
            - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))
        )

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # Never the full number in a traceback or log line.
        return f"IdNumber({mask_id_number(self.value)!r})"


def parse_id_number(value: str, *, field: str = "id_number", today: date | None = None) -> IdNumber:
    """Validate an 18-character citizen ID number, or raise `Invalid` naming `field` and the rule that failed."""
    text = _clean(value).upper()
    if not text:
        raise Invalid("ID number is required", field=field, reason="required")
    if len(text) != 18:
        raise Invalid(f"ID number must be 18 characters, got {len(text)}", field=field, reason="id_length")
    if not _ID_SHAPE.fullmatch(text):
        raise Invalid("ID number must be 17 digits followed by a digit or X", field=field, reason="id_shape")
    digits = text[6:14]
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise Invalid(f"ID number holds an impossible birth date ({digits})", field=field,
                      reason="id_birth_date") from None
    if birth > (today or date.today()):
        raise Invalid("ID number holds a birth date in the future", field=field, reason="id_birth_date_range")
    if birth < _EARLIEST_BIRTH:
        raise Invalid("ID number holds a birth date before 1800", field=field, reason="id_birth_date_range")
    if id_check_char(text[:17]) != text[17]:
        # Do not echo the expected character: that would let anyone forge a passing number by trial.
        raise Invalid("ID number check character is wrong (mistyped digit?)", field=field, reason="check_char")
    return IdNumber(
        value=text, region=text[:6], birth_date=birth, sex="male" if int(text[16]) % 2 else "female"
    )


def mask_id_number(value: str) -> str:
    """36***************X: the province and the check character, nothing of the birth date or the serial.

    Shown beside a person's sex and age (never their birth date: policy.py), what is left readable must not narrow
    the number to a handful of candidates, so the place code (3rd–6th) is hidden with the rest. Every shape (a
    legacy 15-digit number, a typo) keeps at most the first two characters and the last one."""
    text = _clean(value).upper()
    if len(text) >= 10:
        return f"{text[:2]}{'*' * (len(text) - 3)}{text[-1:]}"
    return "****"


# --- Unified social credit codes: GB 32100-2015 ----------------------------------------------------

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V: too easily confused
_CREDIT_VALUES = {c: i for i, c in enumerate(_CREDIT_ALPHABET)}
_CREDIT_WEIGHTS = (
    1,
    3,
    9,
    27,
    19,
    26,
    16,
    17,
    20,
    29,
    25,
    13,
    8,
    24,
    10,
    30,
    28,
)  # 3**i mod 31: ISO 7064 MOD 31-3

# Registration-department codes (1st character). GB 32100-2015 itself only gives 1, 2, 3 as examples and leaves
# the table to the registry; the list below is the one every implementation we checked agrees on:
# 1 机构编制 (establishment), 2 外交 (foreign affairs), 3 司法行政 (justice), 4 文化 (culture),
# 5 民政 (civil affairs), 6 旅游 (tourism), 7 宗教 (religion), 8 工会 (trade unions),
# 9 工商/市场监管 (market regulation), A 中央军委改革和编制办公室 (CMC reform and establishment office),
# N 农业 (agriculture: rural collective economic organisations), Y 其他 (other).
# Sources: the category tables in public GB 32100 implementations found via code search (e.g. Rust `Code01`
# enums, PHP/JS/Java lookup tables listing "A 中央军委改革和编制办公室, N 农业, Y 其他"), the GB 32100
# summaries on blog.csdn.net (1/5/9/Y plus category prefixes up to A1, N1–N3, Y1), and issue 4 of this project
# (A, N and Y must be accepted). Some lists also show G and J, but as data-source markers, not departments.
CREDIT_DEPARTMENTS: dict[str, str] = {
    "1": "establishment",
    "2": "foreign affairs",
    "3": "justice",
    "4": "culture",
    "5": "civil affairs",
    "6": "tourism",
    "7": "religion",
    "8": "trade union",
    "9": "market regulation",
    "A": "CMC reform and establishment office",
    "N": "agriculture",
    "Y": "other",
}

# Organization-category codes (2nd character) each department may issue, from the same table: 1 机构编制 (1 机关,
# 2 事业单位, 3 群众团体, 9 其他), 2 外交 (1 外国常驻新闻机构, 9 其他), 3 司法行政 (1 律师执业机构, 2 公证处,
# 3 基层法律服务所, 4 司法鉴定机构, 5 仲裁委员会, 9 其他), 4 文化 (1 外国在华文化中心, 9 其他), 5 民政 (1 社会团体,
# 2 民办非企业单位, 3 基金会, 9 其他), 6 旅游 (1, 2 境外旅游部门常驻代表机构, 9 其他), 7 宗教 (1 宗教活动场所,
# 2 宗教院校, 9 其他), 8 工会 (1 基层工会, 9 其他), 9 工商 (1 企业, 2 个体工商户, 3 农民专业合作社), A (1 军队
# 事业单位, 9 其他), N 农业 (1 组级, 2 村级, 3 乡镇级集体经济组织, 9 其他), Y 其他 (1).
CREDIT_CATEGORIES: dict[str, str] = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129", "7": "129", "8": "19",
    "9": "123", "A": "19", "N": "1239", "Y": "1",
}

_CREDIT_SHAPE = re.compile(rf"[{_CREDIT_ALPHABET}]{{2}}[0-9]{{6}}[{_CREDIT_ALPHABET}]{{10}}")

# GB 11714 organization code (9th–17th characters): 8 body characters and a check character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_check_char(first17: str) -> str:
    """The GB 32100 check character (18th) for the first 17 characters."""
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def organization_check_char(body8: str) -> str:
    """The GB 11714 check character for an 8-character organization-code body (digits 0–9, letters A=10 … Z=35)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


@dataclass(frozen=True, slots=True)
class CreditCode:
    value: str  # normalised: 18 upper-case characters
    department: str  # 1st: registration department, a key of CREDIT_DEPARTMENTS
    kind: str  # 2nd: category within that department (9 + 1 = enterprise, 5 + 1 = social group, …)
    region: str  # 3rd–8th: administrative division of the registering authority
    organization_code: str  # 9th–17th: GB 11714 organization code, its own check character last

    def __str__(self) -> str:
        return self.value


def parse_credit_code(value: str, *, field: str = "credit_code") -> CreditCode:
    """Validate an 18-character unified social credit code, or raise `Invalid` naming `field` and the failed rule."""
    text = _clean(value).upper()
    if not text:
        raise Invalid("Credit code is required", field=field, reason="required")
    if len(text) != 18:
        raise Invalid(f"Credit code must be 18 characters, got {len(text)}", field=field, reason="credit_length")
    if not _CREDIT_SHAPE.fullmatch(text):
        raise Invalid(
            "Credit code must use digits and capital letters except I, O, Z, S, V, "
            "with digits in positions 3 to 8",
            field=field, reason="credit_shape",
        )
    if text[0] not in CREDIT_DEPARTMENTS:
        raise Invalid(f"Credit code has an unknown registration department '{text[0]}'", field=field,
                      reason="credit_department")
    if text[1] not in CREDIT_CATEGORIES[text[0]]:
        raise Invalid(f"Credit code has an organization category '{text[1]}' that department '{text[0]}' does not "
                      "issue", field=field, reason="credit_category")
    # Both check characters: the 18th covers the whole code, the 17th the embedded organization code.
    # Known real codes (e.g. 91440300708461136T, 12440600MB2C07549J) satisfy both. Some codes issued in
    # Xiamen before 2016 fail the 18th-character check (hutool issue #4119); they are refused here and need
    # a manual override upstream if one ever has to be registered.
    if credit_check_char(text[:17]) != text[17]:
        raise Invalid("Credit code check character is wrong (mistyped character?)", field=field,
                      reason="check_char")
    if organization_check_char(text[8:16]) != text[16]:
        raise Invalid(
            "Credit code holds an organization code (9th to 17th) whose check character is wrong", field=field,
            reason="check_char")
    return CreditCode(
        value=text, department=text[0], kind=text[1], region=text[2:8], organization_code=text[8:17]
    )


# --- Mainland mobile numbers -----------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_SEPARATORS = re.compile(r"[\s-]+")


def parse_mobile(value: str, *, field: str = "phone") -> str:
    """A mainland mobile number as 11 digits (13812345678) from '+86 138-1234-5678' and the like."""
    text = _MOBILE_SEPARATORS.sub("", _clean(value))
    if not text:
        raise Invalid("Mobile number is required", field=field, reason="required")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("86") and len(text) == 13:
        # Only strip a bare 86 when 11 digits remain: no mobile number starts with 86 itself.
        text = text[2:]
    if not _MOBILE.fullmatch(text):
        raise Invalid(
            "Mobile number must be 11 digits starting with 13 to 19 (a +86 prefix is allowed)", field=field,
            reason="not_a_mobile")
    return text


def mask_phone(phone: str) -> str:
    """*******5678: the last four digits at most, enough to recognise a number on screen or in a log, not enough
    to call it or to tell its carrier. The one masking of phones: every page, export, log line and feed uses it."""
    digits = re.sub(r"\D", "", phone or "")
    prefix = ""
    # A mainland number written with its country code: mask the 11 digits, keep the code readable.
    if len(digits) == 13 and digits.startswith("86"):
        prefix, digits = "+86 ", digits[2:]
    if len(digits) >= 8:
        return f"{prefix}{'*' * (len(digits) - 4)}{digits[-4:]}"
    if len(digits) >= 5:
        return f"{prefix}****{digits[-2:]}"
    return "****"


def mask_email(email: str) -> str:
    """w***@example.com: the first letter of the mailbox and the domain."""
    local, at, domain = (email or "").strip().rpartition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


# --- Numbers typed into free text ------------------------------------------------------------------------------

# What people put between the digits of a phone or an ID number when they type one: spaces (also the full-width
# and no-break ones), dashes of every width, dots, slashes, underscores, brackets round an area code.
_SEPARATOR = r"[\s\-\u2010-\u2015\u2212\uff0d._\uff0e\u00b7\u30fb/()\uff08\uff09]"
# A run of digits (any script's: ASCII, full-width ０-９…) joined by at most three separators at a time, with a
# leading + (+86, ＋86) and a trailing ID check character X (x, full-width Ｘ) when present. Separators and digits
# never overlap, so the pattern is linear in the text's length.
_NUMBER_RUN = re.compile(rf"(?:[+\uff0b]{_SEPARATOR}{{0,2}})?\d(?:{_SEPARATOR}{{0,3}}\d)*"
                         rf"(?:{_SEPARATOR}?[xX\uff58\uff38])?")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Fewer digits than this are a house number, an amount, a count; this many are a phone (a local landline has 7).
MIN_MASKED_DIGITS = 7
# Digits beside a masked number that stay readable (the "3" of "13812345678 3栋"); more are starred, so that a
# number typed in unusual groups never shows seven of its digits in a row.
KEPT_BESIDE = 3


def _digits_of(run: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else "X" if ch in "xXｘＸ" else ""
                   for ch in run)


def _is_date(run: str) -> bool:
    """2026-01-05, 2026.1.5, 2026/01/05 (with an hour after it): a date typed in a description, not a number."""
    groups = [g for g in re.split(_SEPARATOR + "+", unicodedata.normalize("NFKC", run)) if g]
    if len(groups) not in (3, 4) or not all(g.isdigit() for g in groups):
        return False
    year, month, day, *hour = groups
    return (len(year) == 4 and 1900 <= int(year) <= 2099 and len(month) <= 2 and 1 <= int(month) <= 12
            and len(day) <= 2 and 1 <= int(day) <= 31 and all(len(h) <= 2 and int(h) <= 24 for h in hour))


_GROUP = re.compile(r"\d+")


def _number_kind(digits: str) -> str | None:
    """"mobile", "+86 mobile" or "id" for the digits of whole groups, else None."""
    if len(digits) == 18 and digits[:17].isdigit():
        return "id"
    if _MOBILE.fullmatch(digits):
        return "mobile"
    if any(digits.startswith(code) and _MOBILE.fullmatch(digits[len(code):]) for code in ("0086", "86")):
        return "+86 mobile"
    return None


def _mask_digits(digits: str, kind: str | None) -> str:
    if kind == "id":
        return mask_id_number(digits)
    if kind == "+86 mobile":
        return "+86 " + mask_phone(digits[-11:])
    return mask_phone(digits.replace("X", ""))


def _pieces(groups: list[list[Any]]) -> list[tuple[int, int, str | None]]:
    """(first group, last group, kind) in order: whole groups that make a mobile or an ID number, and the
    stretches between them (kind None)."""
    pieces: list[tuple[int, int, str | None]] = []
    i = 0
    while i < len(groups):
        # An ID number before a mobile: the first 11 digits of "130 1021 9900 1011 23X" are mobile-shaped.
        digits, found = "", None
        for j in range(i, len(groups)):
            digits += groups[j][2]
            if len(digits) > 18:
                break
            kind = _number_kind(digits)
            if kind == "id" or (kind is not None and found is None):
                found = (i, j, kind)
        if found is None:
            if pieces and pieces[-1][2] is None:
                pieces[-1] = (pieces[-1][0], i, None)
            else:
                pieces.append((i, i, None))
            i += 1
        else:
            pieces.append(found)
            i = found[1] + 1
    return pieces


def _mask_run(match: re.Match[str], erase: bool = False) -> str:
    """A run of digits and separators with its phones and ID numbers masked. The run is read as groups (what
    lies between separators): whole groups that make a mobile or an ID number are masked as one; a stretch left
    between them is masked as a whole when it holds seven digits, starred when more than three, and kept when
    fewer (so that "电话 138 1234 5678 3栋" keeps its "3")."""
    run = match.group(0)
    if len(_digits_of(run).rstrip("X")) < MIN_MASKED_DIGITS or _is_date(run):
        return run
    groups: list[list[Any]] = [[g.start(), g.end(), _digits_of(g.group())] for g in _GROUP.finditer(run)]
    tail = ""
    if run[-1] in "xXｘＸ":  # an ID number's check character, else a letter typed after the number
        groups[-1][1], groups[-1][2] = len(run), groups[-1][2] + "X"
        pieces = _pieces(groups)
        if pieces[-1][2] != "id":
            groups[-1][2] = groups[-1][2][:-1]
            groups[-1][1] = _GROUP.search(run, groups[-1][0]).end()
            tail, run = run[groups[-1][1]:], run[:groups[-1][1]]
    pieces = _pieces(groups)
    # What comes before the first digit (a +, a bracket) stays, unless the number is written again as "+86 …".
    out, at = [] if pieces[0][2] == "+86 mobile" else [run[:groups[0][0]]], groups[0][0]
    for first, last, kind in pieces:
        start, end = groups[first][0], groups[last][1]
        digits = "".join(g[2] for g in groups[first:last + 1])
        out.append(run[at:start])
        if kind is not None or len(digits) >= MIN_MASKED_DIGITS:
            out.append(ERASED if erase else _mask_digits(digits, kind))
        elif len(digits) > KEPT_BESIDE:
            out.append(re.sub(r"\d", "*", run[start:end]))
        else:
            out.append(run[start:end])
        at = end
    return "".join(out) + run[at:] + tail


ERASED = "***"


def mask_free_text(text: str | None, *, erase: bool = False) -> str | None:
    """Text typed by a person (a description, an address, a reply), as published: every phone and ID number in
    it masked in whatever form it was typed — with spaces or dashes, +86 or 0086 before it, full-width digits,
    a lower-case x — and e-mail addresses hidden. Any run of seven or more digits counts (a landline, a bank card,
    a number split across groups); a date such as 2026-01-05 is left as it is. With `erase`, a number is replaced
    by ERASED whole (no last four digits): the text of a person who has been anonymised."""
    if not text:
        return text
    text = _EMAIL.sub("***@***", text)
    return _NUMBER_RUN.sub(lambda m: _mask_run(m, erase), text)
