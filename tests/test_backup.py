"""Backup and restore: every table's rows and checksums come back equal, on SQLite and PostgreSQL and across them;
a damaged or foreign file, a database that already holds data, and another schema revision are refused whole."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from jiayuan.backup import backup, digests, restore
from jiayuan.cases.models import Case
from jiayuan.kit.db import Database
from jiayuan.kit.errors import Conflict, Invalid
from tests.cli import run_cli
from tests.databases import SMALL_DEMO, backends, fresh_database, sqlite_copy


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A SQLite database holding a bit of everything: the small demo with its cases, registry and services (a copy
    of SMALL_DEMO), and a case merged into another (a row pointing at a row of its own table)."""
    db = Database(sqlite_copy(SMALL_DEMO, tmp_path_factory.mktemp("src") / "src.db"))
    with db.unit_of_work() as s:
        first, second = s.scalars(select(Case).order_by(Case.id).limit(2)).all()
        first.merged_into_id = second.id  # the original is the newer one: row order alone would break the key
    yield db
    db.dispose()


@dataclass(frozen=True)
class BackedUp:
    file: Path
    manifest: dict
    digests: dict  # the source's, table by table


@pytest.fixture(scope="module")
def backed_up(source: Database, tmp_path_factory: pytest.TempPathFactory) -> BackedUp:
    """One backup of the source and its digests, which the tests read (each restores it, or takes it apart)."""
    file = tmp_path_factory.mktemp("backup") / "jiayuan.tar.gz"
    return BackedUp(file, backup(source.engine, file), digests(source.engine))


@pytest.fixture(params=backends())
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with fresh_database(request.param, tmp_path, prefix="jiayuan_restore") as url:
        db = Database(url)
        yield db
        db.dispose()


def test_round_trip_keeps_every_row_and_checksum(backed_up: BackedUp, target: Database) -> None:
    file, manifest, before = backed_up.file, backed_up.manifest, backed_up.digests
    assert {name: d.rows for name, d in before.items()} == {n: t["rows"] for n, t in manifest["tables"].items()}
    assert before["people"].rows > 100 and before["cases"].rows > 100 and before["providers"].rows > 0

    restore(target.engine, file)
    assert digests(target.engine) == before
    # Encrypted values came back as the same ciphertext, and still open with the keys.
    with target.sessions() as s:
        assert s.scalar(text("SELECT count(*) FROM people WHERE id_number LIKE 'v1.%'")) > 0

    # Restoring again over data is refused, and changes nothing; with --replace it is the same data again.
    with pytest.raises(Conflict):
        restore(target.engine, file)
    restore(target.engine, file, replace=True)
    assert digests(target.engine) == before


def test_backup_holds_no_plaintext_personal_data(source: Database, backed_up: BackedUp) -> None:
    file = backed_up.file
    with source.sessions() as s:
        from jiayuan.registry.models import Person

        person = s.scalar(select(Person).where(Person.id_number.is_not(None)).limit(1))
        number, phone = person.id_number, person.phone
    with tarfile.open(file) as tar:
        content = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert number.encode() not in content and (phone is None or phone.encode() not in content)


def test_damaged_and_foreign_files_are_refused_whole(backed_up: BackedUp, tmp_path: Path) -> None:
    with tarfile.open(backed_up.file) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}

    def write(name: str, files: dict[str, bytes]) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            for member, data in files.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, __import__("io").BytesIO(data))
        return path

    damaged = dict(members)
    damaged["tables/people.jsonl"] = damaged["tables/people.jsonl"].replace(b"\n", b"\n", 1)[:-200] + b"\n"
    older = dict(members, **{"manifest.json": json.dumps({**manifest, "revision": "0001"}).encode()})
    target = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    for path, error in ((write("damaged.tar.gz", damaged), Conflict), (write("older.tar.gz", older), Conflict),
                        (tmp_path / "nothing.txt", Invalid)):
        if path.suffix == ".txt":
            path.write_text("not a backup")
        with pytest.raises(error):
            restore(target.engine, path)
        with target.sessions() as s:
            assert s.scalar(text("SELECT count(*) FROM people")) == 0
    target.dispose()


def test_cli_backup_and_restore(source: Database, backed_up: BackedUp, tmp_path: Path) -> None:
    file = tmp_path / "cli.tar.gz"
    env = {"PATH": "/usr/bin:/bin", "JIAYUAN_VAR_DIR": str(tmp_path)}
    done = run_cli(str(source.engine.url), "backup", str(file), env=env)
    assert done.returncode == 0, done.stderr
    assert "backed up" in done.stdout
    new = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = run_cli(new, "restore", str(file), env=env)
    assert restored.returncode == 0, restored.stderr
    again = run_cli(new, "restore", str(file), env=env)
    assert again.returncode == 2 and "--replace" in again.stderr
    db = Database(new)
    assert digests(db.engine) == backed_up.digests
    db.dispose()
