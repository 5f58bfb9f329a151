"""The whole loop through the JSON API, as its people would walk it."""

from __future__ import annotations

from tests.cases.helpers import act, report
from tests.personas import GRID_A, PERSONAS


def test_a_grid_case_goes_to_the_lead_who_handles_it_and_the_community_checks_and_closes_it(api) -> None:  # noqa: ANN001
    case = report(api, "resident", GRID_A)
    n = case["number"]
    assert case["status"] == "dispatched" and case["assignee"] == PERSONAS["grid_a"].username
    act(api, "grid_a", n, "start")
    act(api, "grid_a", n, "handle", note="已清理")
    act(api, "community", n, "check")  # someone other than the handler checks
    assert act(api, "community", n, "close")["status"] == "closed"
    r = act(api, "resident", n, "rate", rating="satisfied")
    assert r["rating"] == "satisfied"
    assert [e["action"] for e in r["timeline"]] == ["report", "accept", "register", "dispatch", "start", "handle",
                                                    "check", "close", "rate"]
    assert [e["actor_role"] for e in r["timeline"]][1:4] == ["system"] * 3


def test_a_community_case_waits_for_the_dispatcher(api) -> None:  # noqa: ANN001
    n = report(api, "resident", GRID_A, category="1502")["number"]  # 乱停车: community level
    for step in ("accept", "register"):
        act(api, "community", n, step)
    d = act(api, "community", n, "dispatch", assignee=PERSONAS["grid_b"].username)
    assert d["status"] == "dispatched" and d["assignee"] == PERSONAS["grid_b"].username


def test_dissatisfied_within_seven_days_reopens_as_rework(api) -> None:  # noqa: ANN001
    n = report(api, "resident", GRID_A)["number"]
    for who, step, body in (("grid_a", "handle", {"note": "已处理"}), ("community", "check", {}),
                            ("community", "close", {})):  # someone else checks
        act(api, who, n, step, **body)
    r = act(api, "resident", n, "rate", rating="dissatisfied", note="还是很脏")
    assert r["status"] == "in_progress" and r["rework_count"] == 1 and r["assignee"] == PERSONAS["grid_a"].username
    assert act(api, "resident", n, "rate", expect=409, rating="satisfied")


def test_a_worker_dispatched_outside_their_grid_sees_and_handles_the_case(api) -> None:  # noqa: ANN001
    n = report(api, "resident", GRID_A, category="1502")["number"]  # community level, grid A's community
    assert api("grid_b").get(f"/api/v1/cases/{n}").status_code == 404  # not theirs yet
    for step in ("accept", "register"):
        act(api, "community", n, step)
    act(api, "community", n, "dispatch", assignee=PERSONAS["grid_b"].username)
    assert api("grid_b").get(f"/api/v1/cases/{n}").status_code == 200
    assert n in [c["number"] for c in api("grid_b").get("/api/v1/cases", params={"mine": True}).json()["items"]]
    assert act(api, "grid_b", n, "handle", note="已协助处理")["status"] == "handled"
