"""The `jiayuan` command: set up the database, serve, import and export units, manage users, load the demo."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from jiayuan.config import get_settings
from jiayuan.kit.db import Database, analyze
from jiayuan.kit.errors import DomainError
from jiayuan.kit.migrate import is_up_to_date, upgrade
from jiayuan.kit.scope import Scope

app = typer.Typer(help="Jiayuan 家园: community governance and service platform", no_args_is_help=True,
                  pretty_exceptions_enable=False)
units_app = typer.Typer(help="The unit hierarchy and grid polygons", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
app.add_typer(units_app, name="units")
app.add_typer(users_app, name="users")
calendar_app = typer.Typer(help="The working-day calendar: public holidays and make-up workdays", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
open311_app = typer.Typer(help="Open311 GeoReport v2: the outside applications that post service requests",
                          no_args_is_help=True)
open311_keys_app = typer.Typer(help="API keys of Open311 clients", no_args_is_help=True)
open311_app.add_typer(open311_keys_app, name="keys")
app.add_typer(open311_app, name="open311")
# soft_wrap: a message stays on one line in logs and pipes, whatever the terminal width.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def start() -> None:
    """Jiayuan 家园: community governance and service platform."""
    # Every command (the worker included) runs with the domains wired together, as the app does.
    from jiayuan.hooks import register_hooks

    register_hooks()


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def database(*, migrated: bool = True, wait: bool = False) -> Database:
    """The configured database, refused unless migrated. With `wait`, a database that does not answer is tried
    again until it does (the worker: started beside the server or at boot, it must outlast a PostgreSQL that is
    restarting or not up yet, or the outbox would silently stop being sent)."""
    settings = get_settings()
    db = Database(settings.database_url)
    if migrated and not (_when_answering(db) if wait else is_up_to_date(db.engine)):
        fail("the database is not initialised or not up to date; run `jiayuan init` first")
    return db


def _when_answering(db: Database) -> bool:
    """is_up_to_date, asked again after 1 s, 2 s, 4 s … (at most 30 s) for as long as the connection fails."""
    delay = 1.0
    while True:
        try:
            return is_up_to_date(db.engine)
        except OperationalError as exc:
            lines = str(exc.orig or exc).strip().splitlines()
            err.print(f"the database is not answering ({lines[0][:200] if lines else type(exc).__name__}); "
                      f"trying again in {delay:.0f} s", markup=False, highlight=False)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def run(db: Database, fn):  # noqa: ANN001, ANN201
    """Run `fn(session)` in one transaction; a domain error becomes exit code 2 naming the field."""
    try:
        with db.unit_of_work() as session:
            return fn(session)
    except DomainError as exc:
        fail(exc.message if not exc.field or exc.message.startswith(exc.field) else f"{exc.field}: {exc.message}")


@app.command()
def init() -> None:
    """Apply the database migrations and load reference data."""
    from jiayuan.reference import load_reference_data

    db = database(migrated=False)
    upgrade(db.engine)
    loaded = run(db, load_reference_data)
    if loaded.categories or loaded.calendar_days or loaded.catalogue:
        console.print(f"reference data: {loaded.categories} case categories, "
                      f"{loaded.calendar_days} holiday and make-up workdays, "
                      f"{loaded.catalogue} service catalogue entries and centre kinds")
    console.print(f"database ready: {escape(db.engine.url.render_as_string(hide_password=True))}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="web processes")] = 1,
    worker: Annotated[bool, typer.Option(help="start the background worker beside the server")] = True,
) -> None:
    """Serve the web application (and the background worker beside it, started again should it die)."""
    import uvicorn

    from jiayuan.kit.supervise import Supervised

    database().dispose()
    child = None
    if worker:
        child = Supervised([sys.executable, "-m", "jiayuan.cli", "worker"], name="worker",
                           say=lambda text: err.print(text, markup=False, highlight=False))
        child.start()
    console.print(f"Jiayuan serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")

    def terminated(signum: int, _frame: object) -> None:
        # uvicorn shuts down on SIGTERM (systemd, docker stop), then raises it again: end through `finally`, which
        # stops the worker, instead of dying at once and leaving the worker running without its server.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    try:
        uvicorn.run("jiayuan.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=get_settings().log_level.lower(), proxy_headers=True)
    finally:
        if child is not None:
            child.stop()


@app.command("worker")
def run_worker(threads: Annotated[int, typer.Option(min=1)] = 2) -> None:
    """Run the background worker (notifications, sweeps, long imports and reports)."""
    from huey.consumer import Consumer

    from jiayuan.care.tasks import register as register_care
    from jiayuan.cases.tasks import register as register_cases
    from jiayuan.charity.tasks import register as register_charity
    from jiayuan.kit.jobs import queue
    from jiayuan.notify.tasks import register as register_notify
    from jiayuan.registry.imports.tasks import register as register_imports
    from jiayuan.services.orders.tasks import register as register_services

    database(wait=True).dispose()
    huey = queue()
    register_notify(huey)  # the outbox drain, every 15 seconds; spent throttle counters and sessions, hourly
    register_cases(huey)  # the overdue sweep, every minute
    register_care(huey)  # the not-visited alerts of people in care, hourly (idempotent)
    register_charity(huey)  # the charity supermarkets' monthly issue and expiry of points, hourly (idempotent)
    register_services(huey)  # the offer sweep of service orders, every minute
    register_imports(huey)  # registry imports too large for a request, as they are queued
    console.print(f"worker started (pid {os.getpid()}, {threads} threads)")
    Consumer(huey, workers=threads, worker_type="thread").run()


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="small or district")] = "district",
    seed: Annotated[int, typer.Option(help="the same seed gives the same district")] = 2026,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing when data is already loaded")] = False,
) -> None:
    """Load the demo district (吉州区): streets, communities, grids, grid workers and staff, a year of cases, the
    registry (residents and households, houses, facilities and organizations in every grid) and the services:
    8+X centres, member providers with their staff accounts (provider001 …), orders, projects, produce points;
    and neighbourhood care: people in care, volunteers (volunteer1 signs in), a year of visits, care centres,
    charity supermarkets and activities."""
    from jiayuan.demo.load import DEMO_PASSWORD, demo_loaded, load_demo

    if scale not in ("small", "district"):
        fail("--scale: must be small or district")
    db = database()
    with db.unit_of_work() as session:
        loaded = demo_loaded(session)
    if loaded:
        if if_empty:
            console.print("demo district already loaded")
            return
        fail("the demo district is already loaded in this database")
    with console.status(f"loading the {scale} demo district…"):
        result = run(db, lambda s: load_demo(s, scale, seed))
        analyze(db.engine, vacuum=True)  # statistics for the planner, or it guesses wrong over 225,000 people
    console.print(f"loaded {result.units} units, {result.staff} staff accounts, "
                  f"{result.grid_members} grid assignments, {result.cases} cases")
    if result.registry:
        r = result.registry
        console.print(f"loaded {r.people} residents in {r.households} households, {r.rooms} rooms in "
                      f"{r.compounds} compounds, {r.things} facilities, {r.organizations} organizations")
    if result.services:
        v = result.services
        console.print(f"loaded {v.centres} service centres, {v.providers} providers ({v.active_providers} active), "
                      f"{v.orders} service orders, {v.projects} service projects, {v.produce_points} produce points")
    if result.care:
        c = result.care
        console.print(f"loaded {c.profiles} people in care, {c.volunteers} volunteers, {c.visits} visits "
                      f"({c.open_alerts} people not visited in time), {c.centres} care centres ({c.enrolments} "
                      f"enrolled), {c.supermarkets} charity supermarkets, {c.activities} activities "
                      f"({c.participants} participants); volunteer1 is a volunteer")
    console.print(f"sign in as [bold]admin[/bold] (district) or any demo account with password "
                  f"[bold]{DEMO_PASSWORD}[/bold]")


@units_app.command("import")
def units_import(file: Annotated[Path, typer.Argument(help="a GeoJSON FeatureCollection")]) -> None:
    """Create or update units from a GeoJSON file; all of it or nothing."""
    from jiayuan.units.service import import_units

    try:
        collection = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"FILE: {file} does not exist")
    except OSError as exc:
        fail(f"FILE: cannot read {file}: {exc.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"FILE: not valid GeoJSON: {exc}")
    result = run(database(), lambda s: import_units(s, collection))
    console.print(f"imported: {result.created} created, {result.updated} updated")


@units_app.command("export")
def units_export(file: Annotated[Path, typer.Argument(help="where to write the FeatureCollection")]) -> None:
    """Write every unit of every level to one GeoJSON FeatureCollection."""
    from jiayuan.units.service import export_units

    collection = run(database(), lambda s: export_units(s, Scope.everything()))
    file.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    console.print(f"exported {len(collection['features'])} units to {escape(str(file))}")


@units_app.command("locate")
def units_locate(
    lat: Annotated[float, typer.Argument(help="latitude")],
    lon: Annotated[float, typer.Argument(help="longitude")],
    crs: Annotated[str, typer.Option(help="wgs84 or gcj02")] = "wgs84",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON, as GET /api/v1/units/locate does")] = False,
) -> None:
    """Print the grid a point lies in and its chain up to the district."""
    from jiayuan.kit.errors import NotFound
    from jiayuan.units.service import locate

    db = database()
    try:
        with db.unit_of_work() as session:
            found = locate(session, lat, lon, crs)
            rows = [(u.level, u.code, u.name) for u in found.chain]
            chain = [{"code": u.code, "name": u.name, "level": u.level, "parent_code": u.parent_code}
                     for u in found.chain]
    except NotFound as exc:
        fail(exc.message, code=1)
    except DomainError as exc:
        fail(f"{exc.field}: {exc.message}")
    if as_json:
        print(json.dumps({"lat": found.lat, "lon": found.lon, "grid": chain[-1], "chain": chain},
                         ensure_ascii=False))
        return
    for level, code, name in rows:
        console.print(f"{level:<10} {code:<16} {escape(name)}", highlight=False)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="sign-in name")],
    role: Annotated[str, typer.Option(help="district_admin, street_staff, community_staff, grid_worker, …")],
    scope: Annotated[str | None, typer.Option(help="unit code of the account's scope")] = None,
    full_name: Annotated[str | None, typer.Option(help="the person's name")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Create an account; the password is read from standard input, never from the command line."""
    from jiayuan.accounts.service import create_user

    if not password_stdin:
        fail("--password-stdin: pass the password on standard input (it must not appear in the process list)")
    password = sys.stdin.readline().rstrip("\r\n")
    user = run(database(), lambda s: create_user(
        s, username=username, full_name=full_name or username, role=role, scope_code=scope, password=password,
        check_unit=True))
    console.print(f"created {user.username} ({user.role}, scope {user.scope_code or '-'})")


@app.command("backup")
def backup_command(file: Annotated[Path, typer.Argument(help="where to write the backup (.tar.gz)")]) -> None:
    """Back up every table (and uploaded files kept on disk) to one portable file; SQLite and PostgreSQL alike."""
    from jiayuan.backup import backup

    db, settings = database(), get_settings()
    with console.status("backing up…") as status:
        manifest = backup(db.engine, file, files=settings.var_dir / "uploads",
                          progress=lambda table, n: status.update(f"backing up… {table} ({n} rows)"))
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"backed up {len(manifest['tables'])} tables, {rows} rows, revision {manifest['revision']} "
                  f"to {escape(str(file))}", highlight=False)


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="a backup written by `jiayuan backup`")],
    replace: Annotated[bool, typer.Option("--replace", help="replace what the database holds")] = False,
) -> None:
    """Restore a backup into this database (a new one is migrated first); all of it or nothing."""
    from jiayuan.backup import restore

    if not file.is_file():
        fail(f"FILE: {file} does not exist")
    db, settings = database(migrated=False), get_settings()
    try:
        with console.status("restoring…") as status:
            manifest = restore(db.engine, file, replace=replace, files=settings.var_dir / "uploads",
                               progress=lambda table, n: status.update(f"restoring… {table} ({n} rows)"))
    except DomainError as exc:
        fail(exc.message)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"restored {rows} rows of {len(manifest['tables'])} tables from {escape(str(file))}",
                  highlight=False)


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="the account's sign-in name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Set an account's password (someone forgot theirs): at least 10 characters, not a common one. Every session
    and token the account had ends. The password is read from standard input, never from the command line."""
    from jiayuan.accounts.models import User
    from jiayuan.accounts.passwords import check_new_password
    from jiayuan.accounts.service import hash_password, record, user_by_username
    from jiayuan.accounts.sessions import sign_out_everywhere
    from jiayuan.accounts.throttling import district_of
    from jiayuan.kit.errors import NotFound

    if not password_stdin:
        fail("--password-stdin: pass the password on standard input (it must not appear in the process list)")
    password = sys.stdin.readline().rstrip("\r\n")

    def work(session):  # noqa: ANN001, ANN202
        user: User | None = user_by_username(session, username)
        if user is None:
            raise NotFound(f"no account {username}", field="username")
        user.password_hash = hash_password(check_new_password(password, username=user.username))
        sign_out_everywhere(session, user)
        record(session, district_of(user), actor="cli", action="password_reset", target=user.username)

    run(database(), work)
    console.print(f"password of {escape(username)} set; its sessions and tokens ended")


@users_app.command("reset-totp")
def users_reset_totp(username: Annotated[str, typer.Argument(help="the account's sign-in name")]) -> None:
    """Clear an account's two-factor sign-in (a lost phone): it sets it up again at the next sign-in, and every
    session and token it had ends."""
    from jiayuan.accounts.security import reset_totp
    from jiayuan.accounts.service import user_by_username
    from jiayuan.kit.errors import NotFound

    def work(session):  # noqa: ANN001, ANN202
        user = user_by_username(session, username)
        if user is None:
            raise NotFound(f"no account {username}", field="username")
        reset_totp(session, user, actor="cli")

    run(database(), work)
    console.print(f"two-factor sign-in of {escape(username)} cleared")


@calendar_app.command("import")
def calendar_import(
    year: Annotated[int, typer.Argument(help="the year the schedule is for")],
    file: Annotated[Path, typer.Argument(help="CSV or .xlsx with the columns date, type (holiday/workday or 休/班), note")],
) -> None:
    """Replace a year's holidays and make-up workdays with those of a file; all of it or nothing."""
    from jiayuan.cases.calendar import parse_schedule, set_year

    try:
        data = file.read_bytes()
    except FileNotFoundError:
        fail(f"FILE: {file} does not exist")
    except OSError as exc:
        fail(f"FILE: cannot read {file}: {exc.strerror}")
    count = run(database(), lambda s: set_year(s, year, parse_schedule(data, file.name, year=year),
                                               source=f"file {file.name}"))
    console.print(f"{year}: {count} holidays and make-up workdays entered")


@calendar_app.command("show")
def calendar_show(year: Annotated[int, typer.Argument(help="the year to list")]) -> None:
    """List a year's holidays and make-up workdays, and where its schedule came from."""
    from jiayuan.cases.calendar import known_years, special_days

    def read(session):  # noqa: ANN001, ANN202
        entry = next((y for y in known_years(session) if y.year == year), None)
        days = [(d.day, d.is_workday, d.note) for d in special_days(session, year)]
        return (entry.source, entry.loaded_at) if entry else None, days

    entry, days = run(database(), read)
    if entry is None:
        console.print(f"{year}: no official schedule entered; Monday to Friday count as workdays")
    else:
        console.print(f"{year}: from {escape(entry[0])}, entered {entry[1]:%Y-%m-%d}", highlight=False)
    for day, workday, note in days:
        console.print(f"{day.isoformat()} {'一二三四五六日'[day.weekday()]} {'班' if workday else '休'} "
                      f"{escape(note or '')}", highlight=False)


@open311_keys_app.command("create")
def open311_keys_create(
    name: Annotated[str, typer.Argument(help="the client's name, e.g. the app that posts")],
) -> None:
    """Issue a key to a new client. The key is printed once, as the last line; only its hash is stored."""
    from sqlalchemy.orm import Session

    from jiayuan.cases.open311_keys import create_client

    def create(session: Session) -> tuple[str, str]:
        client, key = create_client(session, name)
        return client.name, key

    created, key = run(database(), create)
    console.print(f"created Open311 client {escape(created)}; the key below is not shown again:",
                  highlight=False)
    # Plain print, last: scripts read the key as the last line, unwrapped and uncoloured.
    print(key, flush=True)


@open311_keys_app.command("list")
def open311_keys_list() -> None:
    """List the clients, when each was created, and whether its key still works (keys are never shown)."""
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jiayuan.cases.open311_keys import case_counts, list_clients
    from jiayuan.kit.i18n import TIMEZONE

    def read(session: Session) -> list[tuple[str, datetime, datetime | None, int]]:
        counts = case_counts(session)
        return [(c.name, c.created_at, c.revoked_at, counts.get(c.id, 0)) for c in list_clients(session)]

    rows = run(database(), read)
    if not rows:
        console.print("no Open311 clients yet; create one with `jiayuan open311 keys create NAME`")
    for client, created, revoked, cases in rows:
        state = f"revoked {revoked.astimezone(TIMEZONE):%Y-%m-%d %H:%M}" if revoked else "active"
        console.print(f"{escape(client)}\tcreated {created.astimezone(TIMEZONE):%Y-%m-%d %H:%M}\t{state}\t"
                      f"{cases} cases", highlight=False)


@open311_keys_app.command("revoke")
def open311_keys_revoke(name: Annotated[str, typer.Argument(help="the client's name")]) -> None:
    """Stop a client's key from working; the cases it posted stay."""
    from jiayuan.cases.open311_keys import revoke_client

    revoked = run(database(), lambda s: revoke_client(s, name=name).name)
    console.print(f"revoked the key of {escape(revoked)}", highlight=False)


keys_app = typer.Typer(help="Personal-data encryption keys", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(batch: Annotated[int, typer.Option(min=1, help="rows per transaction")] = 500) -> None:
    """Re-encrypt every ID number and phone still under an old key with the current (first) data key."""
    from rich.progress import Progress

    from jiayuan.keys import count_stale, rotate_keys
    from jiayuan.kit.crypto import DecryptionError, get_cipher

    db, cipher = database(), get_cipher()
    with db.sessions() as session:
        stale = count_stale(session, cipher)
        total = sum(stale.values())
        if not total:
            console.print(f"every token is under the current key {cipher.current_key_id!r}")
            return
        with Progress(console=console) as progress:
            bar = progress.add_task(f"re-encrypting under {cipher.current_key_id}", total=total)

            def batch_done(_column: str, n: int) -> None:
                session.commit()  # each batch its own transaction: an interrupted run resumes where it stopped
                progress.advance(bar, n)

            try:
                done = rotate_keys(session, cipher=cipher, batch_size=batch, on_batch=batch_done)
            except DecryptionError as exc:
                # Batches already done stay committed; the message names the key, never a value.
                fail(f"{exc}; keep every old key after the new one in JIAYUAN_DATA_KEYS until rotation ends")
            session.commit()
    for column, n in done.items():
        console.print(f"{column}: {n} re-encrypted")


@app.command("import")
def registry_import(
    kind: Annotated[str, typer.Argument(help="people, houses, facilities or organizations")],
    file: Annotated[Path, typer.Argument(help="an .xlsx or .csv filled in from the template")],
    valid_only: Annotated[bool, typer.Option("--valid-only", help="import the rows without errors, "
                                             "leave out the others (by default any error imports nothing)")] = False,
    report: Annotated[Path | None, typer.Option(help="write the errors (row, column, reason) to this .xlsx")] = None,
) -> None:
    """Import people, houses, facilities or organizations from a spreadsheet, for the whole district.
    Importing the same file again updates and never duplicates."""
    import uuid

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from jiayuan.accounts.models import NO_DISTRICT
    from jiayuan.accounts.roles import Role
    from jiayuan.accounts.service import Principal, record
    from jiayuan.kit import excel
    from jiayuan.registry.imports import service as imports
    from jiayuan.registry.imports import tasks
    from jiayuan.registry.imports.columns import COLUMNS
    from jiayuan.units.service import single_district

    if kind not in imports.KINDS:
        fail(f"KIND: must be one of {', '.join(imports.KINDS)}")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        fail(f"FILE: {file} does not exist")
    except OSError as exc:
        fail(f"FILE: cannot read {file}: {exc.strerror}")
    db = database()
    settings = get_settings()
    # The command line acts for the system over the whole district (every district, should there be several).
    district = run(db, single_district)
    principal = Principal(uuid.UUID(int=0), "cli", "命令行", Role.district_admin, district,
                          Scope((district,)) if district else Scope.everything())
    try:
        # Read and checked first, then written a thousand rows at a time in short transactions, as from the page:
        # a server running meanwhile keeps writing (on SQLite a long transaction would hold its write lock).
        table = excel.read_table(data, file.name, COLUMNS[kind], tasks.read_limits(settings))
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            bars: dict[str, int] = {}

            def advance(stage: str, done: int, total: int | None) -> None:
                if stage not in bars:
                    bars[stage] = progress.add_task("checking rows" if stage == "check" else "writing", total=total)
                progress.update(bars[stage], completed=done, total=total)

            result = tasks.run(db.unit_of_work, principal, kind, table.rows,
                               mode="valid_only" if valid_only else "all_or_nothing", progress=advance,
                               total=table.total)
    except DomainError as exc:
        fail(exc.message if not exc.field or exc.message.startswith(exc.field) else f"{exc.field}: {exc.message}")
    with db.unit_of_work() as session:
        record(session, district or NO_DISTRICT, actor="cli", action="registry_imported",
               target=f"registry/imports/{kind}", detail={"file": file.name, "mode": result.mode, **result.counts()})
    if report is not None:
        from jiayuan.kit.i18n import DEFAULT_LOCALE, translations

        # The report goes to the people who correct the file: in the platform's language, as the template.
        report.write_bytes(imports.error_report(kind, result.errors, translations(DEFAULT_LOCALE).gettext))
    for e in result.errors[:200]:
        err.print(f"row {e.row}, {escape(imports.column_label(kind, e.column, 'en')) or '-'}: {escape(e.message())}",
                  highlight=False)
    if result.error_count > 200:
        err.print(f"… {result.error_count - 200} more errors" + (f" in {report}" if report else ""), highlight=False)
    counts = (f"{result.total} rows: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
              f"{result.rejected} rejected")
    if result.errors and not result.written and not valid_only:
        fail(f"{counts}; nothing was imported: correct the rows above, or pass --valid-only")
    console.print(counts, highlight=False)


export_app = typer.Typer(help="Write data to files for other systems", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("hsds")
def export_hsds(directory: Annotated[Path, typer.Argument(help="the folder to write to (made if missing)")]) -> None:
    """Write the service directory as Open Referral HSDS 3.0 to DIRECTORY: services.json, organizations.json and
    service_at_locations.json, each a JSON array of fully nested objects (as GET /hsds/services/{id},
    /hsds/organizations/{id} and /hsds/service_at_locations/{id} answer); files of those names are replaced."""
    from jiayuan.services.service import hsds

    try:
        counts = run(database(), lambda s: hsds.export(s, directory))
    except OSError as exc:
        fail(f"DIRECTORY: cannot write to {directory}: {exc.strerror}")
    for name, n in counts.items():
        console.print(f"wrote {n} objects to {escape(str(directory / name))}", highlight=False)


if __name__ == "__main__":
    app()
