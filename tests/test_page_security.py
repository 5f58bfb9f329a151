"""Pages escape what they show for where they show it, and the browser is told to run nothing else (issue 12,
item 9 e and f): no template marks a value `| safe`, JSON inside a page cannot end its <script> element, an
attribute's value cannot leave its quotes, and the Content-Security-Policy allows no string to be run as code."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiayuan.app import content_security_policy
from jiayuan.web import env, json_in_html
from tests.conftest import page_login
from tests.personas import PERSONAS
from tests.services.helpers import make_provider, rated_history

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "jiayuan" / "templates"
ATTACK = "</script><script>alert(1)</script>"


def test_no_template_marks_a_value_safe() -> None:
    marked = [f"{p.relative_to(TEMPLATES)}:{n}" for p in TEMPLATES.rglob("*.html")
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\|\s*safe\b", line)]
    assert marked == []


def test_json_in_a_page_escapes_what_could_end_its_element() -> None:
    text = str(json_in_html({"name": ATTACK, "line": "a\u2028b\u2029c", "q": "'&\"", "zh": "中文"}))
    assert "<" not in text and ">" not in text and "&" not in text and "'" not in text
    assert "\u2028" not in text and "\u2029" not in text and "中文" in text
    assert env.from_string("<script type='application/json'>{{ v | tojson }}</script>").render(
        v=ATTACK).count("</script>") == 1


def test_an_input_attribute_cannot_leave_its_quotes() -> None:
    ui = env.get_template("services/_ui.html").module
    html = str(ui.input("name", "名称", "", {}, attrs={"placeholder": '" autofocus onfocus="alert(1)'}))
    assert 'placeholder="&#34; autofocus onfocus=&#34;alert(1)"' in html and ' onfocus="' not in html


def test_the_content_security_policy_runs_no_strings_as_code(client: TestClient) -> None:
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and "unsafe-eval" not in policy
    assert "'unsafe-eval'" not in content_security_policy("https://t{s}.tianditu.gov.cn/x/{z}/{x}/{y}")
    # htmx, on the pages that load it, is told not to evaluate either.
    assert '"allowEval": false' in client.get("/login").text


def test_a_provider_named_like_a_script_stays_text_in_the_performance_chart(client: TestClient,
                                                                           session: Session) -> None:
    provider = make_provider(session, ATTACK)
    rated_history(session, provider, [4, 5])
    session.commit()
    assert page_login(client, PERSONAS["admin"].username).status_code == 200
    r = client.get("/services/providers/performance")
    assert r.status_code == 200 and 'id="performance-data"' in r.text
    assert ATTACK not in r.text
    data = r.text.split('id="performance-data">', 1)[1].split("</script>", 1)[0]
    assert "\\u003c/script\\u003e" in data
