import json
import re
from pathlib import Path

import pytest

from service.errors import InvalidRequest
from service.evaluate.records import Report
from service.evaluate.report import (
    build_report,
    describe_run,
    load_report,
    markdown_summary,
    render_html,
    write_json,
)
from service.settings import Settings
from tests.evaluate.builders import GOOD, case, graded, reply

DECLINED = reply("The documents do not say. <script>alert(1)</script>", [], [], answered=False)


def sample_report() -> Report:
    results = [
        graded(case(id="good"), GOOD),
        graded(case(id="declined", category="factoid <b>"), DECLINED),
    ]
    return build_report(
        Path("set.jsonl"), results, describe_run("in-process", results, Settings(_env_file=None))
    )


def test_json_report_round_trips_and_records_the_settings(tmp_path: Path) -> None:
    report = sample_report()
    path = tmp_path / "out" / "report.json"
    write_json(report, path)
    assert load_report(path) == report
    data = json.loads(path.read_text())
    settings = data["settings"]
    assert settings["target"] == "in-process" and settings["answer_modes"] == {"extractive": 2}
    assert settings["top_k"] == 5 and settings["chunk_size"] == 256
    assert settings["retrieval_mode"] == "hybrid" and settings["llm_model"] is None
    assert settings["versions"]["chromadb"] != "not installed"
    question = data["questions"][1]
    assert question["passed"] is False and question["reasons"]
    assert question["reply"]["answer"].startswith("The documents do not say.")
    assert question["latencies_ms"] == [12.0]


def test_a_file_that_is_not_a_report_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"eval_set": 1}')
    with pytest.raises(InvalidRequest) as refused:
        load_report(path)
    assert str(refused.value).startswith(f"{path}: not a readable eval report")


def test_markdown_summary_has_overall_and_category_rows_and_failures() -> None:
    text = markdown_summary(sample_report())
    lines = text.splitlines()
    assert lines[2].startswith("| group | passed | pass rate | correct |")
    assert lines[2].endswith("| p50 | p95 | answer first | words | ≤ 80 words |")
    assert lines[4].startswith("| **overall** | 1/2 | 50.0% |")
    assert lines[5].startswith("| temporal | 1/1 | 100.0% |")
    assert lines[6].startswith("| factoid <b> | 0/1 | 0.0% |")
    assert "- `declined` (factoid <b>): abstained on an answerable question" in text


def test_html_is_self_contained_escaped_and_has_a_chart_and_a_filterable_table() -> None:
    page = render_html(sample_report())
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "factoid &lt;b&gt;" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count("<rect") == 4 + 2 * 4  # legend + four bars per category
    assert 'width="700.0"' in svg  # temporal passed 100%: a full-width bar
    assert '<tr data-category="temporal" data-status="pass">' in page
    assert 'data-status="fail"' in page and 'id="status"' in page
    assert "abstained on an answerable question" in page
