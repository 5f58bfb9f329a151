"""The rule every new password meets, wherever it is set (an account made through the API, a page or the CLI, a
password change, an administrator's reset): at least MIN_LENGTH characters, not one of the common passwords of
data/common-passwords.txt, and not blank-ish — only spaces or invisible characters, one character repeated, or
the user name (OWASP ASVS 6.2; NIST SP 800-63B §3.1.1.2)."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

from jiayuan.kit.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 200
# Characters that show nothing: format characters (zero-width spaces and joiners, direction marks), controls, and
# combining marks standing on their own.
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})




def N_(message: str) -> str:  # noqa: N802 - the gettext convention (page_kit's would import the web layer here)
    return message


# What a form that sets a password says, by (field, reason): the account page, and staff making an account for a
# volunteer or a provider's worker.
PASSWORD_MESSAGES: dict[tuple[str, str], str] = {
    ("password", "too_short"): N_("At least %(limit)s characters."),
    ("password", "too_long"): N_("At most %(limit)s characters."),
    ("password", "blank"): N_("A password cannot be only spaces or invisible characters."),
    ("password", "one_character"): N_("A password cannot be one character repeated."),
    ("password", "username"): N_("A password cannot be the user name."),
    ("password", "common_password"): N_("This is one of the most common passwords: choose another."),
    ("password", "required"): N_("Required."),
}


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("jiayuan.accounts").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(_fold(line) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _fold(text: str) -> str:
    """As passwords are compared with the list and the user name: full-width forms as ASCII, case ignored,
    invisible characters and surrounding spaces dropped."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE).strip().casefold()


def check_new_password(password: object, *, username: str = "", field: str = "password") -> str:
    """The password, if it may be set; otherwise Invalid naming `field` with the reason (too_short, too_long,
    blank, one_character, username, common_password)."""
    if not isinstance(password, str) or not password:
        raise Invalid("required", field=field, reason="required")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"at most {MAX_LENGTH} characters", field=field, reason="too_long", limit=MAX_LENGTH)
    folded = _fold(password)
    if not "".join(folded.split()):
        raise Invalid("only spaces or invisible characters", field=field, reason="blank")
    if len(folded) < MIN_LENGTH:
        raise Invalid(f"at least {MIN_LENGTH} characters", field=field, reason="too_short", limit=MIN_LENGTH)
    if len(set(folded.replace(" ", ""))) == 1:
        raise Invalid("one character repeated", field=field, reason="one_character")
    name = _fold(username)
    if name and folded.replace(" ", "") in (name, name[::-1]):
        raise Invalid("the user name is not a password", field=field, reason="username")
    if folded in common_passwords() or folded.replace(" ", "") in common_passwords():
        raise Invalid("one of the most common passwords: choose another", field=field, reason="common_password")
    return password
