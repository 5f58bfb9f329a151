"""The rule of new passwords (accounts/passwords.py), wherever one is set: at least 10 characters, not a common
password, not blank-ish. Each refusal is a 422 naming the field."""

from __future__ import annotations

import pytest

from jiayuan.accounts.passwords import MIN_LENGTH, check_new_password, common_passwords
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.errors import Invalid
from tests.conftest import csrf_from, page_login

REFUSED = {
    "short": ("Gan-2026", "too_short"),
    "common": ("woaini1314", "common_password"),
    "common keyboard walk": ("1qaz2wsx3edc", "common_password"),
    "common, in capitals": ("QWERTYUIOP", "common_password"),
    "common, in full-width digits": ("１２３４５６７８９０", "common_password"),
    "common, padded with spaces": ("  5201314520  ", "common_password"),
    "only spaces": (" " * 12, "blank"),
    "only invisible characters": ("\u200b\u200c\u200d\ufeff" * 3, "blank"),
    "one character repeated": ("a" * 14, "one_character"),
    "the user name": ("Zhang.Wei.01", "username"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_the_rule(case: str) -> None:
    password, reason = REFUSED[case]
    with pytest.raises(Invalid) as refused:
        check_new_password(password, username="zhang.wei.01")
    assert refused.value.field == "password" and refused.value.reason == reason


def test_good_passwords_and_the_demo_one_pass() -> None:
    assert len(DEMO_PASSWORD) >= MIN_LENGTH and check_new_password(DEMO_PASSWORD, username="admin")
    for password in ("correct horse battery staple", "赣江边的灯笼2026", "Lanterns-by-the-Gan"):
        assert check_new_password(password, username="zhang.wei.01") == password
    assert len(common_passwords()) >= 300 and "jiayuan2026" not in common_passwords()


@pytest.mark.parametrize("case", ["short", "common", "only spaces", "one character repeated", "the user name"])
def test_making_an_account_refuses_a_weak_password(api, case: str) -> None:  # noqa: ANN001
    password, reason = REFUSED[case]
    r = api("admin").post("/api/v1/users", json={"username": "zhang.wei.01", "full_name": "张伟", "role":
                                                 "community_staff", "scope": "360802001001", "password": password})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "password"


def test_a_password_change_refuses_a_weak_password(client, api, personas) -> None:  # noqa: ANN001
    for case in ("short", "common", "only spaces"):
        r = api("community").post("/api/v1/auth/password", json={"current_password": DEMO_PASSWORD,
                                                                  "new_password": REFUSED[case][0]})
        assert r.status_code == 422 and r.json()["field"] == "new_password", (case, r.text)
    # The form says why, in Chinese.
    page_login(client, personas["community"].username)
    form = client.get("/account/password")
    common = client.post("/account/password", data={"csrf_token": csrf_from(form.text), "current": DEMO_PASSWORD,
                                                    "password": "woaini1314", "repeat": "woaini1314"})
    assert common.status_code == 422 and "最常见的密码" in common.text


def test_an_administrators_reset_refuses_a_weak_password(api, personas) -> None:  # noqa: ANN001
    r = api("admin").post(f"/api/v1/users/{personas['grid_a'].username}/password", json={"password": " " * 12})
    assert r.status_code == 422 and r.json()["field"] == "password"
