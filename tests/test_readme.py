"""The README: short, its two commands are the ones CI and a fresh machine run, its links work.

Its code examples are run by tests/test_docs_examples.py with those of the docs.
"""

import re

from tests.helpers import PROJECT_DIR

README = PROJECT_DIR / "README.md"
SCREENSHOT = PROJECT_DIR / "docs" / "images" / "widget.png"


def _make_targets() -> dict[str, str]:
    """Each Makefile target and the prerequisites on its rule line."""
    rules = re.findall(r"^([\w-]+):(?!=)(.*)$", (PROJECT_DIR / "Makefile").read_text(), re.M)
    return dict(rules)


def test_the_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= 150


def test_the_two_commands_set_up_serve_and_test() -> None:
    text = README.read_text()
    assert "```sh\nmake serve\n```" in text and "```sh\nmake test\n```" in text
    targets = _make_targets()
    assert "ingest" in targets["serve"].split(), "make serve must ingest the sample corpus"
    assert "install" in targets["ingest"].split()
    assert {"lint", "typecheck", "browser", "docs"} <= set(targets["test"].split())
    ci = (PROJECT_DIR / ".ci" / "run").read_text().splitlines()
    assert "make test" in ci, "CI must run the README's test command"


def test_every_relative_link_and_image_exists() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert local, "the README links into the docs"
    assert [link for link in local if not (PROJECT_DIR / link).exists()] == []


def test_the_screenshot_is_a_small_png() -> None:
    data = SCREENSHOT.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 200_000
    assert "docs/images/widget.png" in README.read_text()
