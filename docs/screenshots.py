"""Take the docs' screenshots on the sample corpus, with Debian's chromium driven by Playwright.

``make docs-screenshots`` (from the repository) ingests examples/haiti-mss into a temporary data
dir, then writes docs/images/widget.png (the demo page served as ``make serve`` serves it, the
widget answering) and docs/images/eval-report.png (``citechat eval --html`` on the haiti-mss set).
"""

import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from typer.testing import CliRunner

from ingestion.embeddings import Embedder, LocalEmbedder
from service.app import create_app
from service.cli import app as cli
from service.settings import Settings
from tests.helpers import SAMPLE_CORPUS, make_settings, run_ingest, serve_app
from tests.widget.chat_page import ChatWidget
from tests.widget.conftest import CHROMIUM, CHROMIUM_ARGS

IMAGES = Path(__file__).resolve().parent / "images"
QUESTION = "How many police officers was Kenya going to send to Haiti?"


def widget(browser: Browser, settings: Settings, embedder: Embedder) -> None:
    with serve_app(create_app(settings, embedder=embedder)) as url:
        page = browser.new_page(viewport={"width": 900, "height": 760})
        page.goto(url + "/")
        chat = ChatWidget(page)
        chat.open()
        chat.ask(QUESTION).locator("summary").first.click()  # show the first quoted passage
        page.screenshot(path=str(IMAGES / "widget.png"))
        page.close()


def eval_report(browser: Browser, settings: Settings, embedder: Embedder, tmp: Path) -> None:
    report = tmp / "report.html"
    questions = "eval_sets/haiti-mss.jsonl"  # as the report shows it: run from the repository
    env = {"CITECHAT_DATA_DIR": str(settings.data_dir)}
    args = ["eval", questions, "--html", str(report)]
    result = CliRunner().invoke(cli, args, obj=embedder, env=env)
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(report.as_uri())
    page.screenshot(path=str(IMAGES / "eval-report.png"))
    page.close()


def main() -> None:
    embedder = LocalEmbedder()
    embedder.load()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as driver:
        settings = make_settings(Path(tmp) / "data")
        run_ingest(settings, embedder, [SAMPLE_CORPUS])
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        widget(browser, settings, embedder)
        eval_report(browser, settings, embedder, Path(tmp))
        browser.close()


if __name__ == "__main__":
    main()
