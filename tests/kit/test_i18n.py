"""Every string the pages show has its Simplified Chinese translation (the default language)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from jiayuan.kit.i18n import LOCALES_DIR, translations

SRC = Path(__file__).resolve().parents[2] / "src" / "jiayuan"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def test_every_message_is_translated_to_chinese() -> None:
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(SRC), METHODS, options_map={"**/templates/**.html": {
                 "extensions": "jinja2.ext.i18n"}}, keywords={"_": None, "N_": None})}
    with (LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing = sorted(m for m in found if not (catalog.get(m) and catalog.get(m).string))
    assert not missing, f"untranslated in zh_CN: {missing}"


def test_catalogue_is_loaded_from_po() -> None:
    assert translations("zh_CN").gettext("Sign in") == "登录"
    assert translations("en").gettext("Sign in") == "Sign in"
