"""Take docs/images/widget.png: the demo page of a service on the sample corpus, answering.

Run from the repository: ``make docs-screenshot`` (ingests examples/haiti-mss into a temporary
data dir, serves it as ``make serve`` does, and drives Debian's chromium with Playwright).
"""

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from ingestion.embeddings import LocalEmbedder
from service.app import create_app
from tests.helpers import SAMPLE_CORPUS, make_settings, run_ingest, serve_app
from tests.widget.chat_page import ChatWidget
from tests.widget.conftest import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).resolve().parent / "images" / "widget.png"
QUESTION = "How many police officers was Kenya going to send to Haiti?"


def main() -> None:
    embedder = LocalEmbedder()
    embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "data")
        run_ingest(settings, embedder, [SAMPLE_CORPUS])
        with serve_app(create_app(settings, embedder=embedder)) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 760})
            page.goto(url + "/")
            widget = ChatWidget(page)
            widget.open()
            reply = widget.ask(QUESTION)
            reply.locator("summary").first.click()  # show the first quoted passage
            page.screenshot(path=str(OUT), type="png")
            browser.close()


if __name__ == "__main__":
    main()
