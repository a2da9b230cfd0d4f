"""The panel stays usable on small screens, in dark mode and under a host page's hostile CSS."""

from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.widget.chat_page import DEMO_TITLE, QUESTION, ChatWidget, embedding_page
from tests.widget.host_pages import HostPages

# Global CSS that breaks naive widgets: inherited fonts and colours, resets of every element,
# a transformed body (which re-anchors position: fixed), rules aimed at the widget's own tag.
HOSTILE_CSS = """<style>
html { font-size: 40px; direction: rtl; }
*, *::before, *::after {
  font: italic 30px/3 "Comic Sans MS", cursive !important; color: #f0f !important;
  letter-spacing: 3px !important; text-transform: uppercase !important;
  box-sizing: content-box !important; visibility: visible !important;
}
body { transform: translateZ(0); margin: 0; min-height: 3000px; }
div, section, header, form, p, ol, li, a, button, textarea, span, sup, details {
  display: block !important; position: static !important; width: 50px !important;
  height: 50px !important; padding: 30px !important; margin: 30px !important;
  background: yellow !important; border: 6px dashed red !important; opacity: .2 !important;
}
citechat-widget { display: none !important; position: absolute !important; opacity: 0 !important; }
</style>"""

MAGENTA = "rgb(255, 0, 255)"
Scheme = Literal["light", "dark"]


def _new_page(browser: Browser, width: int, height: int, scheme: Scheme = "light") -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    return context.new_page()


def assert_usable(page: Page, widget: ChatWidget, width: int, height: int) -> None:
    """The panel fits the viewport, its text is the widget's own, nothing overflows sideways."""
    panel = widget.panel.bounding_box()
    assert panel is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= width
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= height
    for control in (widget.input, widget.panel.get_by_role("button", name="Send")):
        expect(control).to_be_in_viewport(ratio=1)
    box = widget.input.bounding_box()
    assert box is not None and box["width"] >= 200 and box["height"] >= 40
    text = widget.replies.last.locator(".text")
    style = text.evaluate("e => { const s = getComputedStyle(e); return [s.fontSize, s.color] }")
    assert style[0] == "15px" and style[1] != MAGENTA
    overflow = widget.log.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 0
    for link in widget.replies.last.locator(".sources a").all():
        link_box = link.bounding_box()
        assert link_box is not None and link_box["x"] + link_box["width"] <= width


@pytest.mark.parametrize(("width", "height"), [(360, 740), (1280, 800)])
def test_panel_is_usable_on_a_page_with_hostile_css(
    browser: Browser, site: str, host_pages: HostPages, screenshots: Path, width: int, height: int
) -> None:
    host_pages.add("/hostile.html", embedding_page(f"{site}/widget.js", head=HOSTILE_CSS))
    page = _new_page(browser, width, height)
    try:
        page.goto(host_pages.url("/hostile.html"))
        widget = ChatWidget(page)
        expect(widget.launcher).to_be_in_viewport(ratio=1)
        widget.open()
        reply = widget.ask(QUESTION)
        expect(reply.locator(".sources a").first).to_be_visible()
        assert_usable(page, widget, width, height)
        page.screenshot(path=screenshots / f"hostile-css-{width}px.png")
    finally:
        page.context.close()


def test_panel_fills_a_360px_screen_and_answers(
    browser: Browser, site: str, screenshots: Path
) -> None:
    page = _new_page(browser, 360, 740)
    try:
        page.goto(f"{site}/")
        widget = ChatWidget(page)
        widget.open()
        panel = widget.panel.bounding_box()
        assert panel == {"x": 0, "y": 0, "width": 360, "height": 740}
        reply = widget.ask(QUESTION)
        reply.locator("summary").first.click()
        expect(reply.locator("blockquote").first).to_be_visible()
        assert_usable(page, widget, 360, 740)
        widget.log.locator(".msg.user").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=screenshots / "mobile-360px-answer.png")
    finally:
        page.context.close()


def test_panel_follows_a_dark_colour_scheme(browser: Browser, site: str, screenshots: Path) -> None:
    backgrounds = {}
    schemes: tuple[Scheme, ...] = ("light", "dark")
    for scheme in schemes:
        page = _new_page(browser, 1280, 800, scheme)
        try:
            page.goto(f"{site}/")
            widget = ChatWidget(page)
            widget.open()
            backgrounds[scheme] = widget.panel.evaluate("e => getComputedStyle(e).backgroundColor")
            if scheme == "dark":
                widget.ask(QUESTION)
                page.screenshot(path=screenshots / "desktop-dark-answer.png")
        finally:
            page.context.close()
    assert backgrounds == {"light": "rgb(255, 255, 255)", "dark": "rgb(28, 31, 36)"}


def test_data_attributes_customise_the_widget(page: Page, site: str, host_pages: HostPages) -> None:
    options = "data-accent='#ffd400' data-placeholder='Ask the archive'"
    host_pages.add("/options.html", embedding_page(f"{site}/widget.js", attributes=options))
    host_pages.add(
        "/bad-accent.html",
        embedding_page(f"{site}/widget.js", attributes="data-accent='red; display: none'"),
    )
    colours = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"

    page.goto(host_pages.url("/options.html"))
    widget = ChatWidget(page)
    expect(widget.launcher).to_have_text(DEMO_TITLE)
    # a light accent gets dark text
    assert widget.launcher.evaluate(colours) == ["rgb(255, 212, 0)", "rgb(26, 29, 33)"]
    widget.open()
    expect(widget.input).to_have_attribute("placeholder", "Ask the archive")

    page.goto(host_pages.url("/bad-accent.html"))
    # not a colour: the default accent, with white text
    assert widget.launcher.evaluate(colours) == ["rgb(11, 95, 255)", "rgb(255, 255, 255)"]
