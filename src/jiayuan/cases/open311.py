"""Open311 GeoReport v2 under /open311/v2/: discovery, services, requests and tokens, in JSON and XML."""

from __future__ import annotations

import math
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from jiayuan.accounts import service as accounts
from jiayuan.cases import intake, open311_keys
from jiayuan.cases.categories import list_categories
from jiayuan.cases.metrics import service as metrics
from jiayuan.cases.models import Case, CaseEvent, Category, Open311Client
from jiayuan.cases.workflow import FINAL
from jiayuan.deps import AppSettings, DbSession, client_ip
from jiayuan.kit import i18n
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError, Forbidden, Invalid, NotFound
from jiayuan.kit.identity import mask_free_text
from jiayuan.notify.limits import TextLimits
from jiayuan.units import service as units

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MEDIA_TYPES = {"json": "application/json", "xml": "text/xml; charset=utf-8"}
MAX_RESULTS = 1000
WINDOW = timedelta(days=90)  # the spec's default range of GET requests, and the widest it allows
# Tags of the items of each list in the spec's XML (<services><service>, <service_requests><request>, …).
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "endpoints": "endpoint", "formats": "format", "errors": "error"}
# Our field names in intake's errors, as the Open311 client named them.
FIELD_NAMES = {"category": "service_code", "lon": "long", "address": "address_string",
               "reporter_phone": "phone", "reporter_name": "first_name", "unit_code": "jurisdiction_id"}
# Social-governance cases (disputes, help requests, whistle-blowing…) are about people, not the street: the
# public list gives their category, status and dates, never their text or where they happened.
PRIVATE_KINDS = frozenset({"social"})
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

router = APIRouter(prefix=PREFIX, tags=["open311"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe POST")]


# Rendering: the format is the path's suffix.


def check_format(fmt: str) -> str:
    if fmt not in MEDIA_TYPES:
        raise NotFound(f"unknown format {fmt!r}; use .json or .xml", field="format")
    return fmt


def respond(fmt: str, root: str, data: Any, status_code: int = 200,
            headers: dict[str, str] | None = None) -> Response:
    if fmt == "xml":
        element = ET.Element(root)
        _fill(element, root, data)
        return Response(ET.tostring(element, encoding="utf-8", xml_declaration=True), status_code=status_code,
                        media_type=MEDIA_TYPES["xml"], headers=headers)
    return JSONResponse(data, status_code=status_code, headers=headers)


def _fill(element: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, v in value.items():
            _fill(ET.SubElement(element, key), key, v)
    elif isinstance(value, list):
        for v in value:
            _fill(ET.SubElement(element, ITEM_TAGS[tag]), ITEM_TAGS[tag], v)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        # Control characters a client may have posted would make the whole document unreadable.
        element.text = _XML_INVALID.sub("", str(value))


def w3c(value: datetime | None) -> str | None:
    """2026-01-05T09:30:00+08:00: W3C date-time in Beijing time, as Chinese clients expect."""
    return value.astimezone(i18n.TIMEZONE).isoformat(timespec="seconds") if value else None


def spec_error(request: Request, exc: Exception) -> Response | None:
    """The spec's error list under /open311/ (None elsewhere): [{code, description}], or <errors> for .xml."""
    path = request.url.path
    if not (path == "/open311" or path.startswith("/open311/")):
        return None
    headers = None
    if isinstance(exc, DomainError):
        # The spec answers bad parameters with 400; our services say 422.
        status = 400 if isinstance(exc, Invalid) else exc.status_code
        described = exc.message.startswith(f"{exc.field}:") if exc.field else True
        description = exc.message if described else f"{exc.field}: {exc.message}"
        if isinstance(exc.details, dict) and "retry_after" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after"])}
    elif isinstance(exc, RequestValidationError):
        status = 400
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path", "header"))
        description = f"{where}: {first['msg']}" if where else str(first["msg"])
    elif isinstance(exc, StarletteHTTPException):
        status, headers = exc.status_code, getattr(exc, "headers", None)
        description = {404: f"no such endpoint; see {PREFIX}/discovery.json",
                       405: f"method {request.method} not allowed here"}.get(status, str(exc.detail))
    else:
        return None
    fmt = "xml" if path.endswith(".xml") else "json"
    return respond(fmt, "errors", [{"code": status, "description": description}], status, headers)


# Shared lookups.


def _gettext(locale: str | None) -> tuple[str, Callable[[str], str]]:
    code = "en" if (locale or "").lower().startswith("en") else "zh_CN"
    return code, i18n.translations(code).gettext


def _jurisdiction(session: Session, jurisdiction_id: str | None) -> str | None:
    """The district a jurisdiction_id names (None when not given); unknown is a 404."""
    if jurisdiction_id is None or jurisdiction_id == "":
        return None
    found = jurisdiction_id if units.level_of(jurisdiction_id) == "district" and units.unit_exists(
        session, jurisdiction_id) else None
    if found is None:
        raise NotFound(f"unknown jurisdiction {jurisdiction_id!r}; give the district code, e.g. 360802",
                       field="jurisdiction_id")
    return found


def _names(category: Category, locale: str) -> str:
    return category.name_en if locale == "en" else category.name_zh


def _notice(category: Category, urgent: bool, _: Callable[[str], str]) -> str:
    if urgent:
        return _("Urgent: to be handled within %(hours)s hours.") % {"hours": category.time_limit_hours}
    return _("To be handled within %(hours)s working hours.") % {"hours": category.time_limit_hours}


def redact(text: str | None) -> str | None:
    """A public text with phone and ID card numbers (in any form they were typed) and e-mail addresses masked."""
    return mask_free_text(text)


# Discovery and services.


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request, session: DbSession, settings: AppSettings,
              locale: str | None = None) -> Response:
    check_format(fmt)
    _ = _gettext(locale)[1]
    changed = session.scalar(select(func.max(Category.updated_at))) or utcnow()
    base = str(request.base_url)
    data = {
        "changeset": w3c(changed),
        "contact": _("The district administrator of this platform"),
        "key_service": _("Keys are issued by the district administrator on the page %(url)s") % {
            "url": f"{base}admin/open311"},
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base}{PREFIX.lstrip('/')}/",
                       "changeset": w3c(changed), "type": "production" if settings.production else "test",
                       "formats": ["application/json", "text/xml"]}],
    }
    return respond(fmt, "discovery", data)


def _items(session: Session) -> list[tuple[Category, Category | None]]:
    """Active 4-digit items with their group."""
    rows = list_categories(session)
    groups = {c.code: c for c in rows if c.parent_code is None}
    return [(c, groups.get(c.parent_code)) for c in rows if c.parent_code is not None]


def _service(item: Category, group: Category | None, locale: str, _: Callable[[str], str]) -> dict[str, Any]:
    levels = {"grid": _("the grid"), "community": _("the community"), "street": _("the street"),
              "district": _("the district"), "department": _("a department")}
    description = (_("%(group)s · %(name)s: handled by %(level)s.") % {
        "group": _names(group, locale) if group else "", "name": _names(item, locale),
        "level": levels.get(item.handling_level, item.handling_level)}) + " " + _notice(item, item.urgent, _)
    words = dict.fromkeys(w.replace(",", " ") for w in (item.name_zh, item.name_en, *(
        (group.name_zh, group.name_en) if group else ())))
    return {"service_code": item.code, "service_name": _names(item, locale), "description": description,
            "metadata": bool(item.attributes), "type": "realtime", "keywords": ",".join(words),
            "group": _names(group, locale) if group else None}


@router.get("/services.{fmt}")
def services(fmt: str, session: DbSession, jurisdiction_id: str | None = None,
             locale: str | None = None) -> Response:
    check_format(fmt)
    _jurisdiction(session, jurisdiction_id)
    code, _ = _gettext(locale)
    return respond(fmt, "services", [_service(item, group, code, _) for item, group in _items(session)])


@router.get("/services/{service_code}.{fmt}")
def service_definition(service_code: str, fmt: str, session: DbSession, jurisdiction_id: str | None = None,
                       locale: str | None = None) -> Response:
    check_format(fmt)
    _jurisdiction(session, jurisdiction_id)
    code, _ = _gettext(locale)
    item = next((c for c, _g in _items(session) if c.code == service_code), None)
    if item is None:
        raise NotFound(f"no service {service_code!r}; services.{fmt} lists them", field="service_code")
    hints = {"number": _("A number"), "singlevaluelist": _("Choose one of the values"),
             "multivaluelist": _("Choose one or more of the values"),
             "datetime": _("A date and time, e.g. 2026-01-05T09:30:00+08:00")}
    attributes = [{
        "variable": True, "code": a["code"], "datatype": a["datatype"], "required": bool(a.get("required")),
        "datatype_description": hints.get(a["datatype"]), "order": i,
        "description": a.get("en" if code == "en" else "zh") or a["code"],
        "values": [{"key": v["key"], "name": v.get("en" if code == "en" else "zh") or v["key"]}
                   for v in a.get("values", [])],
    } for i, a in enumerate(item.attributes or [], start=1)]
    return respond(fmt, "service_definition", {"service_code": item.code, "attributes": attributes})


# POST requests: form-encoded (the spec) or JSON.


@dataclass
class PostBody:
    fields: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)


_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


async def post_body(request: Request) -> PostBody:
    """The POST's fields and attributes: attribute[code]=value in a form, {"attribute": {code: value}} in
    JSON."""
    content_type = request.headers.get("content-type", "")
    body = PostBody({})
    if content_type.startswith("application/json"):
        try:
            data = await request.json()
        except ValueError:
            raise Invalid("not valid JSON", field="body") from None
        if not isinstance(data, dict):
            raise Invalid("a JSON object of the request's fields", field="body")
        for key, value in data.items():
            if key in ("attribute", "attributes"):
                if not isinstance(value, dict):
                    raise Invalid('an object of attribute codes and values: {"code": "value"}', field=key)
                body.attributes.update({str(k): v for k, v in value.items()})
            elif m := _ATTRIBUTE.match(key):
                body.attributes[m.group(1)] = value
            else:
                body.fields[key] = value
        return body
    form = await request.form()
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        if m := _ATTRIBUTE.match(key):
            # multivaluelist: attribute[code][]=a&attribute[code][]=b, or the key repeated.
            body.attributes[m.group(1)] = values if m.group(2) or len(values) > 1 else (values or [None])[0]
        elif values:
            body.fields[key] = values[0]
    return body


def _text(fields: dict[str, Any], name: str, limit: int | None = None) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid("a string", field=name)
    text = str(value).strip()
    if limit is not None and len(text) > limit:
        raise Invalid(f"at most {limit} characters", field=name)
    return text or None


def _coordinate(fields: dict[str, Any], name: str, bound: float) -> float | None:
    text = _text(fields, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Invalid("a number (WGS-84 decimal degrees)", field=name) from None
    if not math.isfinite(value) or abs(value) > bound:
        raise Invalid(f"between -{bound:g} and {bound:g}", field=name)
    return value


def _client(session: Session, key: str | None) -> Open311Client:
    if not key:
        raise Forbidden("required; the district administrator issues keys", field="api_key")
    client = open311_keys.client_for_key(session, key)
    if client is None:
        raise Forbidden("unknown or revoked key", field="api_key")
    return client


def _reporter_name(first: str | None, last: str | None) -> str | None:
    # A Chinese name is written family name (last_name) first, without a space: 张 + 三 → 张三.
    if any("\u4e00" <= ch <= "\u9fff" for ch in (first or "") + (last or "")):
        return f"{last or ''}{first or ''}" or None
    return " ".join(p for p in (first, last) if p) or None


def _check_shapes(item: Category, given: dict[str, Any]) -> None:
    """One plain value per attribute, a list only for a multivaluelist (intake checks the values)."""
    kinds = {a["code"]: a["datatype"] for a in item.attributes or []}
    for code, value in given.items():
        many = kinds.get(code) == "multivaluelist"
        values = value if many and isinstance(value, list) else [value]
        if not all(v is None or (isinstance(v, str | int | float) and not isinstance(v, bool))
                   for v in values):
            raise Invalid("a list of values" if many else "a single value", field=f"attribute[{code}]")


def _rename(exc: Invalid) -> Invalid:
    name = exc.field or ""
    if name.startswith("attributes."):
        name = f"attribute[{name.removeprefix('attributes.')}]"
    return Invalid(exc.message, field=FIELD_NAMES.get(name, name), details=exc.details, reason=exc.reason,
                   **exc.params)


@router.post("/requests.{fmt}", status_code=201)
def post_request(fmt: str, request: Request, session: DbSession, settings: AppSettings,
                 body: Annotated[PostBody, Depends(post_body)],
                 idempotency_key: IdempotencyKey = None) -> Response:
    """Create a service request (a case on the "open311" channel). A repeat with the same Idempotency-Key
    returns the first request (200)."""
    check_format(fmt)
    f, query = body.fields, request.query_params
    client = _client(session, _text(f, "api_key") or query.get("api_key"))
    jurisdiction = _jurisdiction(session, _text(f, "jurisdiction_id") or query.get("jurisdiction_id"))
    _ = _gettext(_text(f, "locale") or query.get("locale"))[1]
    code = _text(f, "service_code")
    if code is None:
        raise Invalid("required; services.json lists the codes", field="service_code")
    item = next((c for c, _g in _items(session) if c.code == code), None)
    if item is None:
        raise Invalid(f"unknown category {code!r}; services.{fmt} lists the codes", field="service_code")
    lat, lon = _coordinate(f, "lat", 90), _coordinate(f, "long", 180)
    if (lat is None) != (lon is None):
        raise Invalid("give both lat and long", field="long" if lon is None else "lat")
    address, address_id = _text(f, "address_string", 200), _text(f, "address_id", 100)
    if lat is None and address is None and address_id is None:
        raise Invalid("a location is required: lat and long, or address_string or address_id", field="lat")
    if address_id:
        # No column of its own: kept in the address so that staff can look it up.
        address = f"{address or ''} (address_id {address_id})".strip()
    email = _text(f, "email", 254)
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise Invalid("not an e-mail address", field="email")
    media_url = _text(f, "media_url", 1000)
    if media_url and (urlsplit(media_url).scheme not in ("http", "https") or not urlsplit(media_url).netloc):
        raise Invalid("an http or https URL", field="media_url")
    first, last = _text(f, "first_name", 40), _text(f, "last_name", 40)
    _check_shapes(item, body.attributes)
    extra = {k: v for k, limit in (("email", 254), ("device_id", 100), ("account_id", 100))
             if (v := _text(f, k, limit))}
    data = intake.CaseInput(
        category=code, description=_text(f, "description") or "", lat=lat, lon=lon, address=address,
        unit_code=jurisdiction if lat is None else None, reporter_name=_reporter_name(first, last),
        reporter_phone=_text(f, "phone", 30), attributes=body.attributes)
    try:
        result = intake.report_case(session, data, channel="open311", actor=None, client_id=client.id,
                                    client_name=client.name, idempotency_key=idempotency_key,
                                    source=client_ip(request), text_limits=TextLimits.of(settings))
    except Invalid as exc:
        raise _rename(exc) from None
    case = result.case
    if jurisdiction and case.district_code != jurisdiction:
        raise Invalid(f"the point lies outside jurisdiction {jurisdiction}", field="lat")
    if not result.replayed and (extra or media_url):
        _keep_contact(session, case, {**extra, **({"media_url": media_url} if media_url else {})})
    notice = _notice(item, case.urgent, _)
    item_out = {"service_request_id": case.number, "token": str(case.id), "service_notice": notice,
                "account_id": extra.get("account_id")}
    return respond(fmt, "service_requests", [item_out], 200 if result.replayed else 201)


def _keep_contact(session: Session, case: Case, extra: dict[str, str]) -> None:
    """The client's e-mail, device, account and media URL, kept on the report step for staff (no columns of
    their own); the public list reads only the media URL back."""
    event = session.scalar(select(CaseEvent).where(
        CaseEvent.district_code == case.district_code, CaseEvent.case_id == case.id,
        CaseEvent.action == "report"))
    if event is not None:
        event.data = {**(event.data or {}), "open311": extra}  # a new dict: the JSON column sees the change
        session.flush()


# Tokens and requests.


@router.get("/tokens/{token}.{fmt}")
def token(token: str, fmt: str, session: DbSession, jurisdiction_id: str | None = None) -> Response:
    check_format(fmt)
    district = _jurisdiction(session, jurisdiction_id)
    try:
        case_id = uuid.UUID(token)
    except ValueError:
        raise NotFound(f"no token {token!r}", field="token") from None
    stmt = select(Case.number).where(Case.id == case_id)
    if district:
        stmt = stmt.where(Case.district_code == district)
    number = session.scalar(stmt)
    if number is None:
        raise NotFound(f"no token {token!r}", field="token")
    return respond(fmt, "service_requests", [{"service_request_id": number, "token": token}])


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    # An unencoded "+08:00" in a query string arrives as " 08:00".
    text = value.strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{value!r} is not a W3C date-time, e.g. 2026-01-05T00:00:00+08:00",
                      field=name) from None
    return moment.replace(tzinfo=i18n.TIMEZONE) if moment.tzinfo is None else moment


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@router.get("/requests.{fmt}")
def list_requests(fmt: str, session: DbSession, service_request_id: str | None = None,
                  service_code: str | None = None, start_date: str | None = None, end_date: str | None = None,
                  status: str | None = None, jurisdiction_id: str | None = None,
                  locale: str | None = None) -> Response:
    """Public: newest first, at most 1,000; the last 90 days unless asked otherwise; no personal data."""
    check_format(fmt)
    district = _jurisdiction(session, jurisdiction_id) or units.single_district(session)
    stmt = select(Case)
    if district:
        stmt = stmt.where(Case.district_code == district)
    numbers = _split(service_request_id)
    if numbers:
        # The spec: service_request_id overrides every other filter.
        stmt = stmt.where(Case.number.in_(numbers[:MAX_RESULTS]))
    else:
        codes = _split(service_code)
        if codes:
            known = set(session.scalars(select(Category.code).where(Category.parent_code.is_not(None))))
            if unknown := [c for c in codes if c not in known]:
                raise Invalid(f"unknown category {unknown[0]!r}", field="service_code")
            stmt = stmt.where(Case.category_code.in_(codes))
        start, end = _when(start_date, "start_date"), _when(end_date, "end_date")
        if start and end and end < start:
            raise Invalid("before start_date", field="end_date")
        if start and end and end - start > WINDOW:
            raise Invalid("the range may span at most 90 days", field="end_date")
        end = end or (start + WINDOW if start else utcnow())
        start = start or end - WINDOW
        stmt = stmt.where(Case.reported_at >= start, Case.reported_at <= end)
        wanted = set(_split(status))
        if wanted - {"open", "closed"}:
            raise Invalid("open or closed (comma-separated)", field="status")
        if wanted == {"open"}:
            stmt = stmt.where(Case.status.not_in(FINAL))
        elif wanted == {"closed"}:
            stmt = stmt.where(Case.status.in_(FINAL))
    stmt = stmt.order_by(Case.reported_at.desc(), Case.number.desc()).limit(MAX_RESULTS)
    cases = list(session.scalars(stmt))
    return respond(fmt, "service_requests", present(session, cases, locale))


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(service_request_id: str, fmt: str, session: DbSession, jurisdiction_id: str | None = None,
                locale: str | None = None) -> Response:
    check_format(fmt)
    district = _jurisdiction(session, jurisdiction_id)
    stmt = select(Case).where(Case.number == service_request_id)
    if district:
        stmt = stmt.where(Case.district_code == district)
    cases = list(session.scalars(stmt.order_by(Case.reported_at.desc())))
    if not cases:
        raise NotFound(f"no service request {service_request_id!r}", field="service_request_id")
    return respond(fmt, "service_requests", present(session, cases, locale))


def present(session: Session, cases: list[Case], locale: str | None) -> list[dict[str, Any]]:
    """Cases as public Open311 requests: never the reporter's name, phone, e-mail, account or device."""
    code, _ = _gettext(locale)
    categories = {c.code: c for c in session.scalars(select(Category))}
    replies = _last_replies(session, cases)
    agencies = _agencies(session, cases)
    media = _media_urls(session, [c for c in cases if c.channel == "open311"])
    out = []
    for case in cases:
        category = categories.get(case.category_code)
        private = category is not None and category.kind in PRIVATE_KINDS
        closed = case.status in FINAL
        out.append({
            "service_request_id": case.number,
            "status": "closed" if closed else "open",
            # Staff's notes are internal: only a reply they wrote to the public is published.
            "status_notes": None if private else redact(replies.get(case.id)),
            "service_name": _names(category, code) if category else None,
            "service_code": case.category_code,
            "description": None if private else redact(case.description),
            "agency_responsible": agencies.get(case.id),
            "service_notice": None if closed or category is None else _notice(category, case.urgent, _),
            "requested_datetime": w3c(case.reported_at),
            "updated_datetime": w3c(case.closed_at if case.status == "closed" and case.closed_at
                                    else case.updated_at),
            "expected_datetime": w3c(case.due_at),
            "address": None if private else redact(case.address),
            "address_id": None,
            "zipcode": None,
            "lat": None if private else case.lat,
            "long": None if private else case.lon,
            "media_url": None if private else media.get(case.id),
        })
    return out


def _chunks(cases: list[Case], size: int = 500) -> Iterable[list[Case]]:
    for i in range(0, len(cases), size):
        yield cases[i:i + size]


def _last_replies(session: Session, cases: list[Case]) -> dict[uuid.UUID, str]:
    """The last reply to the public staff wrote on each case's timeline (a step's "reply", never its note),
    unmasked: callers publish it through redact()."""
    replies: dict[uuid.UUID, str] = {}
    for chunk in _chunks(cases):
        rows = session.execute(select(CaseEvent.case_id, CaseEvent.data).where(
            CaseEvent.case_id.in_([c.id for c in chunk]), CaseEvent.data.is_not(None),
        ).order_by(CaseEvent.at))
        for case_id, data in rows:  # later rows win: the last reply
            reply = (data or {}).get("reply") if isinstance(data, dict) else None
            if isinstance(reply, str) and reply.strip():
                replies[case_id] = reply
    return replies


def _agencies(session: Session, cases: list[Case]) -> dict[uuid.UUID, str]:
    """The unit answerable for each case, or the department it was transferred to."""
    names = metrics.unit_names(session) if cases else {}  # every unit's name, kept per process
    # Department accounts are few (one per line department); their user name is what cases store.
    departments: dict[str, str] = {}
    for name in {c.department for c in cases if c.level == "department" and c.department}:
        user = accounts.user_by_username(session, name)
        departments[name] = user.full_name if user else name
    out: dict[uuid.UUID, str] = {}
    for case in cases:
        if case.level == "department" and case.department:
            out[case.id] = departments.get(case.department, case.department)
        elif case.unit_code in names:
            out[case.id] = names[case.unit_code]
    return out


def _media_urls(session: Session, cases: list[Case]) -> dict[uuid.UUID, str]:
    """The media_url an Open311 client posted with its request: already public on the client's side. Our own
    photos stay behind sign-in (they can show faces, plates and homes)."""
    out: dict[uuid.UUID, str] = {}
    for chunk in _chunks(cases):
        rows = session.execute(select(CaseEvent.case_id, CaseEvent.data).where(
            CaseEvent.case_id.in_([c.id for c in chunk]), CaseEvent.action == "report"))
        for case_id, data in rows:
            url = ((data or {}).get("open311") or {}).get("media_url")
            if url:
                out[case_id] = url
    return out
