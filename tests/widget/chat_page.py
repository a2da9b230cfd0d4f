"""Drives the widget on a page the way a reader does."""

from playwright.sync_api import Locator, Page, Request, expect

DEMO_TITLE = "Ask our newsroom"
QUESTION = "Is the US still funding the Haiti mission?"
MAY_SOURCE = "https://theamericansdigest.com/haiti-calls-for-regional-help-to-battle-gangs-as-u-s-delays-funding"


def embedding_page(script_url: str, *, head: str = "", attributes: str = "") -> str:
    """A host page of another site carrying the widget tag."""
    return (
        "<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Host page</title>{head}</head><body><h1>A host page</h1>"
        "<p>Some article text.</p><button id='host-button'>A host button</button>"
        f"<script src='{script_url}' data-title='{DEMO_TITLE}' {attributes} defer></script>"
        "</body></html>"
    )


def sent_messages(request: Request) -> list[dict[str, str]]:
    """The ``messages`` of a chat request the widget sent."""
    body = request.post_data_json
    assert isinstance(body, dict)
    messages: list[dict[str, str]] = body["messages"]
    return messages


def sent_filters(request: Request) -> object:
    """The ``filters`` of a chat request the widget sent (None when it sent none)."""
    body = request.post_data_json
    assert isinstance(body, dict)
    return body.get("filters")


class ChatWidget:
    def __init__(self, page: Page, title: str = DEMO_TITLE) -> None:
        self.page = page
        self.launcher = page.locator("citechat-widget .launcher")
        self.panel = page.get_by_role("dialog", name=title)
        self.log = page.get_by_role("log", name="Conversation")
        self.input = page.get_by_role("textbox", name="Your question")
        self.replies = page.locator(
            "citechat-widget .msg.bot:not([aria-busy]), citechat-widget .msg.error"
        )

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def ask(self, question: str) -> Locator:
        """Send ``question`` with Enter; return the finished reply (an answer or an error)."""
        self.input.fill(question)
        self.input.press("Enter")  # the handler appends the question and a busy reply at once
        self.page.locator(
            "citechat-widget .log > :last-child:is(.msg.bot:not([aria-busy]), .msg.error)"
        ).wait_for()
        return self.replies.nth(self.replies.count() - 1)

    def focused_id(self) -> str:
        """The id (or class) of the element focused inside the widget, "" when none is."""
        focused: str = self.page.evaluate(
            """() => {
                const active = document.querySelector("citechat-widget").shadowRoot.activeElement;
                return active ? active.id || active.className : "";
            }"""
        )
        return focused
