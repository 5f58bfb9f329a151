"""Server-rendered pages: the template environment, the language of a request, and rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from jiayuan.deps import csrf_token
from jiayuan.kit import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "jiayuan_lang"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


# JSON inside a page (<script type="application/json">; in an attribute, single-quoted): nothing in it can end
# the element or start markup. Jinja's own tojson escapes <, > and & (and '); this also escapes U+2028 and U+2029, which end a line
# in older JavaScript parsers, and keeps Chinese as it is. Every `| tojson` of the templates goes through it; a
# template never marks JSON `| safe`.
_JSON_IN_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027",
                               "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_in_html(value: Any) -> Markup:
    return Markup(json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_JSON_IN_HTML))


env.filters["tojson"] = json_in_html


def request_locale(request: Request) -> str:
    return i18n.pick_locale(request.cookies.get(LANG_COOKIE) or request.app.state.settings.default_locale)


def gettext_for(request: Request) -> Any:
    return i18n.translations(request_locale(request)).gettext


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    locale = request_locale(request)
    t = i18n.translations(locale)
    settings = request.app.state.settings
    ctx = {
        "request": request,
        "principal": getattr(request.state, "principal", None),
        "locale": locale,
        "html_lang": i18n.html_lang(locale),
        "locales": i18n.LOCALE_NAMES,
        "csrf_token": csrf_token(request),
        "settings": settings,
        "_": t.gettext,
        "gettext": t.gettext,
        "ngettext": t.ngettext,
        "fmt_datetime": lambda v: i18n.fmt_datetime(v, locale),
        "fmt_number": lambda v: i18n.fmt_number(v, locale),
    }
    ctx.update(context or {})
    if status_code == 403:
        request.state.refused = True  # audited by the request's unit of work (deps.get_db)
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)
