"""People (人): encryption at rest, masking, audited unmasking, blind-index search, scope, moves, bad input,
export and anonymization, key rotation."""

from __future__ import annotations

import base64
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.config import get_settings
from jiayuan.kit import crypto
from jiayuan.kit.crypto import Cipher, parse_data_keys, use_cipher
from jiayuan.kit.identity import id_check_char
from jiayuan.registry.people import service as people
from jiayuan.keys import rotate_keys
from jiayuan.registry.models import Organization, Person, PersonTag
from tests.personas import GRID_A, GRID_B

URL = "/api/v1/registry/people"
PHONE = "13812345678"


def id_number(birth: str = "19800101", serial: str = "123", region: str = "360802") -> str:
    first17 = region + birth + serial
    return first17 + id_check_char(first17)


ID = id_number()
WHY = "核实来访居民身份"  # a reason for an exact look-up


def new_person(api, persona: str = "grid_a", **fields):
    body = {"name": "张三丰", "grid_code": GRID_A if persona != "grid_b" else GRID_B, "id_number": ID,
            "phone": PHONE, **fields}
    r = api(persona).post(URL, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def people_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person))


def test_derived_fields_and_initials(api) -> None:
    p = new_person(api)
    assert (p["birth_year"], p["age"], p["sex"], p["name_initials"]) == (
        1980, people.age_on(date(1980, 1, 1), date.today()), "male", "ZSF")
    assert "birth_date" not in p  # only an unmasked view holds the whole birth date
    assert people.name_initials("Tom Lee") == "TL"


def test_raw_database_holds_no_plaintext(api, session: Session) -> None:
    p = new_person(api)
    rows = session.execute(text("SELECT * FROM people WHERE id = :id"),
                           {"id": uuid.UUID(p["id"]).hex if session.bind.dialect.name == "sqlite"
                            else uuid.UUID(p["id"])}).all()
    assert len(rows) == 1
    raw = " ".join(str(v) for v in rows[0])
    assert ID not in raw and PHONE not in raw and ID[6:14] + ID[14:] not in raw
    assert "张三丰" in raw  # the row really is the person's


def test_api_responses_mask(api) -> None:
    p = new_person(api)
    assert p["id_number"] == ID[:2] + "*" * 15 + ID[-1:] and p["phone"] == "*******5678"
    for r in (api("grid_a").get(f"{URL}/{p['id']}"), api("grid_a").get(URL),
              api("grid_a").post(f"{URL}/search", json={"q": ID, "reason": WHY}),
              api("admin").get(URL, params={"q": "张"})):
        assert r.status_code == 200, r.text
        assert ID not in r.text and PHONE not in r.text and "*******5678" in r.text


def test_unmask_needs_permission_and_reason_and_is_audited(api, session: Session, personas) -> None:
    p = new_person(api)
    url = f"{URL}/{p['id']}/unmask"
    for who in ("grid_a", "hotline"):
        r = api(who).post(url, json={"reason": "home visit", "fields": ["id_number"]})
        assert r.status_code == 403 and ID not in r.text
    r = api("community").post(url, json={"reason": "no", "fields": ["id_number"]})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert r.status_code == 422 and ID not in r.text
    assert not session.scalars(select(AuditEntry).where(AuditEntry.action == "person_unmasked")).all()

    r = api("community").post(url, json={"reason": "allowance application", "fields": ["id_number", "phone"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"id_number": ID, "phone": PHONE}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "person_unmasked")).one()
    assert entry.actor == personas["community"].username and entry.target == p["id"]
    assert entry.detail == {"reason": "allowance application", "fields": ["id_number", "phone"]}
    assert entry.at is not None and ID not in str(entry.detail)


def test_search_through_blind_index(api) -> None:
    p = new_person(api)
    other = id_number(serial="456")
    find = lambda q: [x["id"] for x in api("grid_a").post(f"{URL}/search", json={"q": q, "reason": WHY}).json()]
    assert find(ID) == [p["id"]]
    assert find(ID.lower() if ID.endswith("X") else f" {ID} ") == [p["id"]]  # normalised like on writing
    assert find(other) == []
    assert find("+86 138-1234-5678") == [p["id"]]
    assert find("13812345679") == []


def test_id_number_and_phone_never_in_urls(api) -> None:
    new_person(api)
    r = api("grid_a").get(URL, params={"q": ID})
    assert r.status_code == 422 and r.json()["field"] == "q"


def test_name_and_initials_search(api) -> None:
    p = new_person(api)
    new_person(api, name="李四", id_number=id_number(serial="456"), phone=None)
    for q in ("张三", "三丰", "zsf", "ZS"):
        items = api("grid_a").get(URL, params={"q": q}).json()["items"]
        assert [x["id"] for x in items] == [p["id"]], q
        assert [x["id"] for x in api("grid_a").post(f"{URL}/search", json={"q": q}).json()] == [p["id"]]
    assert api("grid_a").get(URL, params={"q": "王"}).json()["items"] == []


def test_a_name_is_found_from_wherever_the_text_starts_in_it(api) -> None:
    """The search reads indexes of the name from its 1st, 2nd and 3rd character and of names longer than three;
    together they find the text anywhere, as a contains-search would."""
    ouyang = new_person(api, name="欧阳娜娜", id_number=id_number(serial="301"), phone=None)
    zhang = new_person(api, name="张娜", id_number=id_number(serial="302"), phone=None)
    long_name = new_person(api, name="阿依古丽·买买提", id_number=id_number(serial="303"), phone=None)
    ming = new_person(api, name="欧阳小明", id_number=id_number(serial="305"), phone=None)
    new_person(api, name="李四", id_number=id_number(serial="304"), phone=None)

    def found(q: str) -> list[str]:
        return [x["id"] for x in api("grid_a").post(f"{URL}/search", json={"q": q}).json()]

    assert sorted(found("娜")) == sorted([ouyang["id"], zhang["id"]])  # 3rd and 4th character of 欧阳娜娜
    assert found("娜娜") == [ouyang["id"]] and found("阳娜") == [ouyang["id"]]
    assert sorted(found("欧阳")) == sorted([ouyang["id"], ming["id"]])
    assert found("买买提") == [long_name["id"]] and found("·") == [long_name["id"]]
    assert found("丽·买") == [long_name["id"]] and found("明") == [ming["id"]]  # the 4th of four
    assert found("张娜娜") == [] and found("%") == [] and found("_") == []  # LIKE's wildcards are plain text


def test_search_by_address(api) -> None:
    room = api("grid_a").post("/api/v1/registry/rooms", json={
        "grid_code": GRID_A, "compound": "幸福里小区", "building": "3栋", "entrance": "2单元", "number": "502",
        "use": "self_occupied"})
    assert room.status_code == 201, room.text
    home = new_person(api, room_id=room.json()["id"])
    new_person(api, name="李四", id_number=id_number(serial="456"), phone=None)  # lives nowhere known
    assert [x["id"] for x in api("grid_a").post(f"{URL}/search", json={"q": "幸福里"}).json()] == [home["id"]]
    assert [x["id"] for x in api("grid_a").get(URL, params={"q": "幸福里"}).json()["items"]] == [home["id"]]
    assert api("grid_b").post(f"{URL}/search", json={"q": "幸福里"}).json() == []


def test_scope_isolation_between_grids(api) -> None:
    b = new_person(api, "grid_b")
    assert api("grid_a").get(f"{URL}/{b['id']}").status_code == 404
    assert b["id"] not in api("grid_a").get(URL).text
    assert api("grid_a").post(f"{URL}/search", json={"q": ID, "reason": WHY}).json() == []
    assert api("grid_a").post(f"{URL}/search", json={"q": "张三丰"}).json() == []
    assert api("grid_a").post(f"{URL}/{b['id']}/tags", json={"tag": "living_alone"}).status_code == 404
    assert api("grid_b").get(f"{URL}/{b['id']}").status_code == 200
    assert api("admin").get(f"{URL}/{b['id']}").status_code == 200


def test_move_to_another_grid(api, session: Session) -> None:
    p = new_person(api)
    assert api("grid_a").post(f"{URL}/{p['id']}/tags", json={"tag": "living_alone"}).status_code == 201
    r = api("grid_a").post(f"{URL}/{p['id']}/move", json={"to_grid": GRID_B, "note": "moved in with a daughter"})
    assert r.status_code == 201, r.text
    assert api("grid_a").get(f"{URL}/{p['id']}").status_code == 404
    assert p["id"] not in api("grid_a").get(URL).text
    seen = api("grid_b").get(f"{URL}/{p['id']}")
    assert seen.status_code == 200 and seen.json()["grid_code"] == GRID_B
    assert [(m["from_grid"], m["to_grid"]) for m in seen.json()["moves"]] == [(GRID_A, GRID_B)]
    assert [x["id"] for x in api("grid_b").get(URL, params={"tag": "living_alone"}).json()["items"]] == [p["id"]]
    tags = session.scalars(select(PersonTag).where(PersonTag.person_id == uuid.UUID(p["id"]))).all()
    assert [t.grid_code for t in tags] == [GRID_B]


def test_a_move_tells_the_domains_that_keep_rows_by_grid(api, monkeypatch) -> None:
    heard = []
    monkeypatch.setattr(people, "MOVE_HOOKS", [lambda _s, district, ids, grid: heard.append((district, ids, grid))])
    p = new_person(api)
    assert heard == []
    assert api("grid_a").post(f"{URL}/{p['id']}/move", json={"to_grid": GRID_B}).status_code == 201
    assert heard == [(GRID_A[:6], [uuid.UUID(p["id"])], GRID_B)]


def test_tags_and_age_groups(api) -> None:
    old = new_person(api, name="王奶奶", id_number=id_number(birth="19400505"), phone=None)
    young = new_person(api, name="小明", id_number=id_number(birth="20100101", serial="222"), phone=None)
    assert old["tags"] == ["aged_60", "aged_80"] and young["tags"] == []
    r = api("grid_a").post(f"{URL}/{old['id']}/tags", json={"tag": "disabled", "grade": "二级",
                                                            "starts_on": "2020-01-01"})
    assert r.status_code == 201 and r.json()["grade"] == "二级"
    bad = api("grid_a").post(f"{URL}/{old['id']}/tags", json={"tag": "allowance", "starts_on": "2024-02-01",
                                                              "ends_on": "2024-01-01"})
    assert bad.status_code == 422 and bad.json()["field"] == "ends_on"
    assert api("grid_a").post(f"{URL}/{old['id']}/tags", json={"tag": "aged_80"}).json()["field"] == "tag"
    aged = api("grid_a").get(URL, params={"tag": "aged_80"}).json()["items"]
    assert [x["id"] for x in aged] == [old["id"]]
    disabled = api("grid_a").get(URL, params={"tag": "disabled"}).json()["items"]
    assert [x["id"] for x in disabled] == [old["id"]] and "disabled" in disabled[0]["tags"]


BAD_INPUT = [
    ({"id_number": ID[:-1] + ("0" if ID[-1] != "0" else "1")}, "id_number", 422),
    ({"phone": "12812345678"}, "phone", 422),
    ({"grid_code": GRID_A[:-3] + "999"}, "grid_code", 422),
    ({"grid_code": GRID_B}, "grid_code", 422),
    ({"name": "  "}, "name", 422),
    ({"name": None}, "name", 422),
    ({"residence_type": "floating"}, "floating_expires_on", 422),
    ({"residence_type": "tourist"}, "residence_type", 422),
]


@pytest.mark.parametrize(("change", "field", "status"), BAD_INPUT)
def test_bad_input_names_the_field_and_stores_nothing(api, session: Session, change, field, status) -> None:
    before = people_count(session)
    body = {"name": "张三丰", "grid_code": GRID_A, "id_number": ID, "phone": PHONE, **change}
    r = api("grid_a").post(URL, json=body)
    assert (r.status_code, r.json()["field"]) == (status, field), r.text
    assert people_count(session) == before


def test_duplicate_id_number_is_a_conflict(api, session: Session) -> None:
    new_person(api)
    before = people_count(session)
    r = api("grid_b").post(URL, json={"name": "张三", "grid_code": GRID_B, "id_number": ID.lower()})
    assert (r.status_code, r.json()["field"]) == (409, "id_number")
    assert people_count(session) == before


def test_update_and_floating_resident(api) -> None:
    p = new_person(api, residence_type="floating", floating_expires_on="2027-06-30")
    r = api("grid_a").patch(f"{URL}/{p['id']}", json={"name": "张三", "phone": "13900001111"})
    assert r.status_code == 200 and (r.json()["name_initials"], r.json()["phone"]) == ("ZS", "*******1111")
    r = api("grid_a").patch(f"{URL}/{p['id']}", json={"id_number": "360802198001011234"})
    assert r.status_code == 422 and r.json()["field"] == "id_number"


def test_export_and_anonymize(api, session: Session) -> None:
    p = new_person(api, notes="lives with a cat")
    api("grid_a").post(f"{URL}/{p['id']}/tags", json={"tag": "living_alone"})
    assert api("community").get(f"{URL}/{p['id']}/export").status_code == 403
    r = api("admin").get(f"{URL}/{p['id']}/export")
    assert r.status_code == 200 and (r.json()["id_number"], r.json()["phone"]) == (ID, PHONE)
    assert len(r.json()["tags"]) == 1
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "person_exported",
                                                    AuditEntry.target == p["id"])).one()

    assert api("street").post(f"{URL}/{p['id']}/anonymize", json={"reason": "lawful request"}).status_code == 403
    assert api("admin").post(f"{URL}/{p['id']}/anonymize", json={}).json()["field"] == "reason"
    r = api("admin").post(f"{URL}/{p['id']}/anonymize", json={"reason": "erasure request 2026-17"})
    assert r.status_code == 200, r.text
    session.expire_all()
    person = session.get(Person, (GRID_A[:6], uuid.UUID(p["id"])))
    assert (person.name, person.id_number, person.phone, person.id_number_index, person.phone_index,
            person.notes, person.name_initials) == ("已匿名", None, None, None, None, None, None)
    assert person.anonymized_at is not None
    assert len(r.json()["tag_history"]) == 1  # counts stay
    assert api("admin").post(f"{URL}/search", json={"q": ID, "reason": WHY}).json() == []
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "person_anonymized")).one()
    # The ID number is free again: the person can be registered anew.
    new_person(api)


def test_households(api, session: Session) -> None:
    from jiayuan.accounts.service import principal_of, user_by_username

    p = new_person(api)
    user = user_by_username(session, "admin")
    admin = principal_of(user)
    household = people.create_household(session, admin, GRID_A, number="0001")
    people.add_member(session, admin, uuid.UUID(p["id"]), household.id, "户主", head=True)
    assert household.head_id == uuid.UUID(p["id"])
    assert [m.id for m in people.members_of(session, admin, household.id)] == [uuid.UUID(p["id"])]


def _process_keys() -> tuple[list[tuple[str, bytes]], bytes]:
    """The keys the process encrypts with (as Cipher.from_settings builds them), so that rows written by
    other tests' fixtures stay readable when the test adds a new key in front."""
    s = get_settings()
    if s.data_keys and s.data_keys.strip():
        keys = parse_data_keys(s.data_keys)
    else:
        keys = [(crypto.DEV_KEY_ID, crypto._derive(s.secret_key, b"jiayuan data key v1"))]
    index = (crypto._decode_key(s.index_key, "index") if s.index_key and s.index_key.strip()
             else crypto._derive(s.secret_key, b"jiayuan blind index key v1"))
    return keys, index


def test_key_rotation_keeps_every_record_readable(session: Session) -> None:
    old_keys, index_key = _process_keys()
    previous = use_cipher(Cipher(old_keys, index_key))
    try:
        values = {}
        for i in range(7):  # more than a batch of 3
            number = id_number(serial=f"{300 + i}")
            person = Person(district_code=GRID_A[:6], grid_code=GRID_A, name=f"人{i}", id_number=number,
                            phone=f"1390000{i:04d}", id_number_index=people.id_number_index(number))
            session.add(person)
            values[person] = (number, f"1390000{i:04d}")
        org = Organization(district_code=GRID_A[:6], grid_code=GRID_A, name="幸福社工", kind="social_service",
                           contact_phone="13700000000")
        session.add(org)
        session.flush()

        new_key = base64.b64decode(crypto.generate_key())
        use_cipher(Cipher([("k2", new_key), *old_keys], index_key))
        done = rotate_keys(session, batch_size=3)
        assert done["people.id_number"] >= 7 and done["people.phone"] >= 7 and done["organizations.contact_phone"] >= 1

        tokens = [t for (t,) in session.execute(text(
            "SELECT id_number FROM people WHERE id_number IS NOT NULL UNION ALL "
            "SELECT phone FROM people WHERE phone IS NOT NULL UNION ALL "
            "SELECT contact_phone FROM organizations WHERE contact_phone IS NOT NULL"))]
        assert tokens and all(t.startswith("v1.k2.") for t in tokens)
        again = rotate_keys(session)
        # Every encrypted column of every domain is covered, and nothing is left to do.
        assert {"cases.reporter_phone", "outbox.recipient", "people.id_number"} <= again.keys()
        assert not any(again.values()), again

        # The old keys are no longer needed: only the new one reads everything.
        use_cipher(Cipher([("k2", new_key)], index_key))
        session.expire_all()
        for person, (number, phone) in values.items():
            assert (person.id_number, person.phone) == (number, phone)
        assert org.contact_phone == "13700000000"
        # The blind index does not change with the data key: look-ups keep working.
        first_number = next(iter(values.values()))[0]
        assert session.scalar(select(Person.name).where(
            Person.id_number_index == people.id_number_index(first_number))) == "人0"
    finally:
        use_cipher(previous)


def test_age_turns_on_the_birthday() -> None:
    assert people.age_on(date(1940, 5, 5), date(2020, 5, 4)) == 79
    assert people.age_on(date(1940, 5, 5), date(2020, 5, 5)) == 80


def _principal(session: Session, who: str):  # noqa: ANN202
    from jiayuan.accounts.service import principal_of, user_by_username
    from jiayuan.units.service import grids_of_user
    from tests.personas import PERSONAS

    user = user_by_username(session, PERSONAS[who].username)
    return principal_of(user, grids_of_user(session, user.id) if user.role == "grid_worker" else ())


def test_count_agrees_with_the_list_and_anonymized_people_are_in_neither(api, session: Session) -> None:
    admin = _principal(session, "admin")
    before = people.count_people(session, admin, grid=GRID_A, tag="entitled")
    kept = new_person(api)
    gone = new_person(api, name="李四", id_number=id_number(serial="456"), phone=None)
    for p in (kept, gone):
        assert api("grid_a").post(f"{URL}/{p['id']}/tags", json={"tag": "entitled"}).status_code == 201
    assert people.count_people(session, admin, grid=GRID_A, tag="entitled") == before + 2
    assert api("admin").post(f"{URL}/{gone['id']}/anonymize", json={"reason": "erasure request"}).status_code == 200
    session.expire_all()
    assert people.count_people(session, admin, grid=GRID_A, tag="entitled") == before + 1
    listed = {str(p.id) for p in people.list_people(session, admin, grid=GRID_A, tag="entitled", limit=before + 10)}
    assert kept["id"] in listed and gone["id"] not in listed and len(listed) == before + 1
    assert people.count_people(session, admin, q="张三丰") == 1
    assert people.count_people(session, _principal(session, "grid_b"), q="张三丰") == 0


def test_households_of_a_grid_with_their_heads(api, session: Session) -> None:
    p = new_person(api)
    admin = _principal(session, "admin")
    household = people.create_household(session, admin, GRID_A, number="0002")
    people.add_member(session, admin, uuid.UUID(p["id"]), household.id, "户主", head=True)
    found = people.households_in(session, _principal(session, "grid_a"), GRID_A)
    assert (household.id, "张三丰") in [(h.id, name) for h, name in found]
    assert people.households_in(session, _principal(session, "grid_b"), GRID_A) == []
