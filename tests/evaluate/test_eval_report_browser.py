"""The HTML report in a real browser: the chart renders and the table filters."""

from pathlib import Path

from playwright.sync_api import sync_playwright

from service.evaluate.report import write_html
from tests.evaluate.test_eval_report import sample_report
from tests.widget.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS


def test_the_report_shows_its_chart_and_filters_questions(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(sample_report(), path)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        chart = page.locator("svg[aria-label='metrics per category']").bounding_box()
        assert chart is not None and chart["width"] > 600 and chart["height"] > 100
        shown = page.locator("#shown")
        visible = page.locator("#questions tbody tr:visible td:nth-child(2)")
        assert shown.text_content() == "2 of 2 shown"

        page.select_option("#status", "fail")
        assert shown.text_content() == "1 of 2 shown"
        assert visible.all_text_contents() == ["declined"]

        page.select_option("#status", "")
        page.fill("#q", "EXEMPTED")
        assert visible.all_text_contents() == ["good"]

        page.fill("#q", "")
        page.select_option("#category", "factoid <b>")
        assert visible.all_text_contents() == ["declined"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "eval-report.png"), full_page=True)
        browser.close()
    assert not errors
