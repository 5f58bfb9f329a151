from tests.cases.helpers import act, report
from tests.personas import GRID_A


def test_full_loop(api):
    case = report(api, "resident", GRID_A)
    n = case["number"]
    assert case["status"] == "reported" and case["grid_code"] == GRID_A
    act(api, "community", n, "accept")
    act(api, "community", n, "register")
    d = act(api, "community", n, "dispatch")
    assert d["assignee"] == "gw360802001001001-1", d
    act(api, "grid_a", n, "start")
    act(api, "grid_a", n, "handle", note="已清理")
    act(api, "grid_a", n, "check")
    c = act(api, "grid_a", n, "close")
    assert c["status"] == "closed"
    r = act(api, "resident", n, "rate", rating="satisfied")
    assert r["rating"] == "satisfied"
    assert [e["action"] for e in r["timeline"]] == ["report", "accept", "register", "dispatch", "start", "handle", "check", "close", "rate"]
