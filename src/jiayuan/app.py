"""The ASGI application: routers of every domain, sessions, static files, error rendering."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from jiayuan import __version__
from jiayuan.accounts import api as accounts_api
from jiayuan.accounts import pages as accounts_pages
from jiayuan.accounts import roles
from jiayuan.activities import api as activities_api
from jiayuan.activities import pages as activities_pages
from jiayuan.care import api as care_api
from jiayuan.care import pages as care_pages
from jiayuan.cases import api as cases_api
from jiayuan.cases import open311, open311_keys
from jiayuan.cases import pages as cases_pages
from jiayuan.cases import workbench as cases_workbench
from jiayuan.cases.metrics import api as metrics_api
from jiayuan.cases.metrics import pages as metrics_pages
from jiayuan.charity import api as charity_api
from jiayuan.charity import pages as charity_pages
from jiayuan.config import Settings, get_settings
from jiayuan.face import nav as face_nav
from jiayuan.face import pages as face_pages
from jiayuan.hooks import register_hooks
from jiayuan.kit import bodies
from jiayuan.kit.bodies import BodyLimitMiddleware, Limit
from jiayuan.kit.db import Database
from jiayuan.kit.errors import Conflict, DomainError, Invalid, NotFound, TooLarge, Unauthorized, Unavailable
from jiayuan.page_kit import N_, explain, messages_for
from jiayuan.registry.imports import api as registry_imports_api
from jiayuan.registry.imports import pages as registry_imports_pages
from jiayuan.registry.people import api as registry_people_api
from jiayuan.registry.people import pages as registry_people_pages
from jiayuan.registry.places import api as registry_places_api
from jiayuan.registry.places import pages as registry_places_pages
from jiayuan.services.catalogue import api as services_catalogue_api
from jiayuan.services.catalogue import pages as services_catalogue_pages
from jiayuan.services.centres import api as services_centres_api
from jiayuan.services.centres import pages as services_centre_pages
from jiayuan.services.hsds import api as services_hsds_api
from jiayuan.services.orders import api as services_orders_api
from jiayuan.services.orders import desk as services_order_desk
from jiayuan.services.orders import pages as services_order_pages
from jiayuan.services.projects import api as services_projects_api
from jiayuan.services.projects import pages as services_project_pages
from jiayuan.services.providers import api as services_providers_api
from jiayuan.services.providers import pages as services_provider_pages
from jiayuan.stats import api as stats_api
from jiayuan.stats import pages as stats_pages
from jiayuan.units import api as units_api
from jiayuan.units import pages as units_pages
from jiayuan.volunteers import api as volunteers_api
from jiayuan.volunteers import pages as volunteers_pages
from jiayuan.web import env, gettext_for, render

log = logging.getLogger("jiayuan")
STATIC = Path(__file__).resolve().parent / "static"
# Front-end libraries served from node_modules (installed by `npm ci`, never committed).
VENDOR = {"leaflet": "leaflet/dist", "htmx": "htmx.org/dist", "echarts": "echarts/dist",
          "swagger-ui": "swagger-ui-dist"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Location for "use my location", the camera for scanning a care card; nothing else.
    "Permissions-Policy": "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# What a 503 asks a client to wait when the database does not answer: a restart takes a second or two.
DB_RETRY_AFTER_SECONDS = 2
# Errors that reach the error page from any route (a form catches its own), by (field, reason).
ERROR_PAGE_MESSAGES = {
    ("csrf_token", "forbidden"): N_("the form has expired or did not come from this site; reload the page and try "
                                   "again"),
    ("role", "forbidden"): N_("your role may not do this"),
    # A body over its route's limit (kit/bodies.py), refused before the route ran.
    ("body", "too_large"): N_("What was sent is too large (at most %(limit)s)."),
    ("photos", "too_large"): N_("Photo %(n)s is too large (at most %(limit)s)."),
    ("file", "too_large"): N_("The file is too large (at most %(limit)s); split it into several files."),
    ("*", "too_large"): N_("What was sent is too large (at most %(limit)s)."),
}

def content_security_policy(tile_url: str) -> str:
    """Scripts and styles only from this site (no inline script anywhere), and no string evaluated as code
    ('unsafe-eval' is not allowed: htmx is told not to evaluate, base.html's htmx-config, and its pages use no
    trigger filters or js: values; ECharts and Leaflet need none); map tiles from the configured server."""
    tiles = ""
    if tile_url.startswith(("https://", "http://")):
        first, _, rest = tile_url.split("/")[2].partition(".")
        host = f"*.{rest}" if "{" in first else f"{first}.{rest}"  # t{s}.tianditu.gov.cn → *.tianditu.gov.cn
        tiles = f" {tile_url.split(':')[0]}://{host}"
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class _DropQueryString(logging.Filter):
    """Access logs keep the path, never the query: it can carry locations or search terms about people."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
        return True


def body_limits(settings: Settings) -> Callable[[str], Limit]:
    """The body limit of each kind of route (kit/bodies.py): the default for forms and JSON; photos and files to
    import on top of it, each file at most its own limit."""
    table = {
        bodies.DEFAULT: Limit(settings.max_body_bytes),
        bodies.PHOTOS: Limit(settings.max_body_bytes + settings.max_photos * settings.max_photo_bytes,
                             file=settings.max_photo_bytes, indexed=True),
        bodies.IMPORT: Limit(settings.max_body_bytes + settings.max_import_bytes, file=settings.max_import_bytes),
    }
    return table.__getitem__


async def _refuse_body(scope: dict[str, Any], receive: Any, send: Any, error: TooLarge) -> None:
    """The 413 of a body over its limit, as JSON or as a page like every other error; the connection closes."""
    request = Request(scope, receive)
    response = await scope["app"].exception_handlers[DomainError](request, error)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    register_hooks()
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _DropQueryString) for f in access.filters):
        access.addFilter(_DropQueryString())
    # /docs is the face's own page (Swagger UI served from node_modules, under the CSP like every page): FastAPI's
    # would load Swagger UI from a CDN, blank offline and unreliable inside China. ReDoc is not offered.
    app = FastAPI(title="Jiayuan 家园", version=__version__,
                  description="Four-level community governance and service platform", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url, settings.replica_database_url)

    # Inside the session middleware (added after it, so it runs within): a refused page is rendered with its session.
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(settings), refuse=_refuse_body)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="jiayuan_session",
                       max_age=settings.session_max_age_seconds, same_site="lax", https_only=settings.production)

    csp = content_security_policy(settings.tile_url)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        response.headers.setdefault("Content-Security-Policy", csp)
        if settings.production:  # served behind HTTPS: browsers must never come back over plain HTTP
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    env.globals["menu"] = face_nav.menu  # the top bar of every page, by role (face/nav.py)
    env.globals["roles"] = roles  # templates test a role against the sets of accounts/roles.py, never a list
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name, sub in VENDOR.items():
        path = settings.node_modules / sub
        if path.is_dir():
            app.mount(f"/vendor/{name}", StaticFiles(directory=path), name=f"vendor-{name}")
        else:
            log.warning("front-end library %s missing at %s; run `npm ci`", name, path)

    # The metrics before the cases' routes: /cases/metrics and /api/v1/cases/metrics are not case numbers.
    for module in (accounts_api, units_api, metrics_api, metrics_pages, cases_api, face_pages, accounts_pages,
                   units_pages,
                   open311, open311_keys, cases_workbench, cases_pages,
                   registry_imports_api,  # before people/places: /people/export is no person id
                   registry_imports_pages,
                   registry_people_api,
                   registry_places_api, registry_people_pages, registry_places_pages,
                   stats_api, stats_pages):  # /api/v1/care/figures, /care/figures: before any /care/{id}
        app.include_router(module.router)
    app.include_router(care_api.router)  # /api/v1/care: people in care, pairings, visits, alerts, centres
    app.include_router(care_pages.router)  # /care: people in care, the QR card, visits, alerts, centres
    app.include_router(charity_api.router)  # /api/v1/charity: supermarkets, stock, points, redemptions
    app.include_router(charity_pages.router)  # /charity: the counter, stock, donations, rules, reports
    app.include_router(services_hsds_api.router)  # /hsds: the Open Referral HSDS feed, no sign-in
    app.include_router(services_orders_api.router)  # /api/v1/services/orders: 12343 service orders
    app.include_router(services_order_pages.router)  # /services/order, my-orders, orders/{number}
    app.include_router(services_order_desk.router)  # /hotline/orders (12343 console), /provider
    app.include_router(services_providers_api.router)  # /api/v1/services/providers: member providers
    app.include_router(services_provider_pages.router)  # /services/providers: list, pages, performance
    app.include_router(services_catalogue_api.router)  # /api/v1/services: the catalogue, kinds of centre
    app.include_router(services_centres_api.router)  # /api/v1/services: centres, subsidies
    app.include_router(services_projects_api.router)  # /api/v1/services: projects, produce points
    app.include_router(services_catalogue_pages.router)  # /services/catalogue (public)
    app.include_router(services_centre_pages.router)  # /services/centres (public), subsidies
    app.include_router(services_project_pages.router)  # /services/projects, produce points
    app.include_router(volunteers_api.router)  # /api/v1/volunteers: teams, profiles, opportunities, hours, honours
    app.include_router(volunteers_pages.router)  # /volunteers: my page (phone), staff lists, certificates
    app.include_router(activities_api.router)  # /api/v1/activities: public list, registration, check-in, series
    app.include_router(activities_pages.router)  # /activities: public list and pages, QR check-in, attendance

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        try:
            with app.state.db.sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    _install_error_handlers(app)
    return app


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/open311/", "/hsds/")) or "application/json" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if (spec := open311.spec_error(request, exc)) is not None:
            return spec
        if wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else {}
            if isinstance(exc.details, dict) and "retry_after" in exc.details:
                headers["Retry-After"] = str(exc.details["retry_after"])
            return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers or None)
        if isinstance(exc, Unauthorized):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        _ = gettext_for(request)
        # A page does not say whether a record exists outside the caller's scope.
        message = (_("Not found, or outside your scope") if isinstance(exc, NotFound)
                   else explain(request, exc, {**ERROR_PAGE_MESSAGES, **(messages_for(request.url.path) or {})})[1])
        return render(request, "error.html", {"status": exc.status_code, "message": message},
                      status_code=exc.status_code)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # A unique or foreign-key constraint caught what the service's own check could not see: a concurrent
        # change. The transaction is rolled back; one of the two actions won.
        log.info("integrity error on %s: %s", request.url.path, type(exc.orig).__name__)
        return await domain_error(request, Conflict("this conflicts with another change made at the same time; "
                                                    "reload and try again"))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> Response:
        # The database restarted, failed over or is saturated: the request did not complete, and the client may
        # repeat it (idempotently with its Idempotency-Key, should a commit cut off half-way have gone through).
        # A 503 with Retry-After says so; a 500 would not, and uvicorn drops the connection after one. Only the
        # error's type and first line are logged: the statement's parameters may hold personal data.
        orig = getattr(exc, "orig", None) or exc
        log.warning("database unavailable on %s: %s: %s", request.url.path, type(orig).__name__,
                    str(orig).strip().splitlines()[0][:200] if str(orig).strip() else "")
        return await domain_error(request, Unavailable("the database is unavailable for a moment; try again",
                                                       details={"retry_after": DB_RETRY_AFTER_SECONDS}))

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        # A value the schema let through but the database cannot hold (a number past 64 bits, a NUL character or
        # an overlong text on PostgreSQL, a date past year 9999): the input is wrong, not the server. Logged
        # without the value, so that the route can be given a bound of its own.
        orig = getattr(exc, "orig", None) or exc
        log.warning("value out of range on %s %s: %s", request.method, request.url.path, type(orig).__name__)
        return await domain_error(request, Invalid("a value is out of range, or too long, for this field"))

    @app.exception_handler(StaleDataError)
    async def stale_data(request: Request, exc: StaleDataError) -> Response:
        # Optimistic concurrency: another request changed the record between our read and our write.
        return await domain_error(request, Conflict("someone else changed this at the same moment; reload it",
                                                    field="version"))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if (spec := open311.spec_error(request, exc)) is not None:
            return spec
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path", "form")),
                   "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        body = {"error": "invalid", "message": f"{first['field']}: {first['message']}", "field": first["field"],
                "details": errors}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if (spec := open311.spec_error(request, exc)) is not None:
            return spec
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        if wants_json(request) or exc.status_code not in (404,):
            return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return render(request, "error.html", {"status": 404, "message": gettext_for(request)("Page not found")},
                      status_code=404)
