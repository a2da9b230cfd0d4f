"""Every code example in the README and docs/ is run here, unless its title says "Illustrative".

- ``sh``: each command is ``make TARGET`` (a target of the Makefile), ``citechat ...``, parsed
  by the real CLI (with ``--help`` appended, so it runs nothing but must name real commands and
  options), or ``export CITECHAT_...=...``, validated by the settings class.
- ``http``: ``METHOD /path`` then an optional JSON body, sent to a real server on the sample
  corpus; it must answer 200 (and a chat must cite its sources).
- ``python``: executed against that server (``http://127.0.0.1:8000`` is its address).
- ``html``: the widget tag; its script is served and reads each ``data-*`` attribute given.
- ``text`` (output) and ``mermaid`` (diagrams) are not code.
"""

import contextlib
import io
import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx
import pytest
import typer.main
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from ingestion.embeddings import Embedder
from service.app import create_app
from service.cli import app as cli
from service.settings import Settings
from tests.helpers import PROJECT_DIR, serve_app

DOCS_URL = "http://127.0.0.1:8000"
NOT_CODE = {"text", "mermaid"}
WIDGET_JS = PROJECT_DIR / "service" / "static" / "widget.js"


@dataclass(frozen=True)
class Example:
    path: Path
    line: int
    info: str
    code: str

    @property
    def language(self) -> str:
        return self.info.split(maxsplit=1)[0] if self.info else ""

    def __str__(self) -> str:
        return f"{self.path.relative_to(PROJECT_DIR)}:{self.line}"


def _pages() -> list[Path]:
    pages = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").rglob("*.md"))]
    return [page for page in pages if "reference" not in page.relative_to(PROJECT_DIR).parts]


def collect_examples(page: Path) -> list[Example]:
    """The fenced and indented code blocks of ``page``; an indented block has no info."""
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    return [
        Example(page, token.map[0] + 1 if token.map else 0, token.info.strip(), token.content)
        for token in tokens
        if token.type in ("fence", "code_block")
    ]


EXAMPLES = [example for page in _pages() for example in collect_examples(page)]
RUN = [e for e in EXAMPLES if "illustrative" not in e.info.lower() and e.language not in NOT_CODE]


@pytest.fixture(scope="module")
def server(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    with serve_app(create_app(sample_settings, embedder=embedder)) as base_url:
        yield base_url


def _commands(code: str) -> list[list[str]]:
    """The shell commands of a block (continuations joined, comments dropped) as words."""
    joined = code.replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def check_shell(code: str) -> None:
    targets = set(re.findall(r"^([\w-]+):(?!=)", (PROJECT_DIR / "Makefile").read_text(), re.M))
    for words in _commands(code):
        program, *args = words
        given = [arg for arg in args if "=" not in arg]
        if program == "make":
            assert set(given) <= targets, f"{words}: not a make target"
        elif program == "export":
            check_settings(dict(arg.split("=", 1) for arg in args))
        elif program == "citechat":
            result = CliRunner().invoke(cli, [*args, "--help"], prog_name="citechat")
            assert result.exit_code == 0, f"{shlex.join(words)}: {result.output}"
        else:
            raise AssertionError(f"{shlex.join(words)}: not run by the tests; mark illustrative")


def check_settings(variables: dict[str, str]) -> None:
    """``variables`` are settings (a misspelt one would be ignored) that validate together."""
    fields = {f"CITECHAT_{name.upper()}" for name in Settings.model_fields}
    assert sorted(set(variables) - fields) == [], "not CITECHAT_* settings"
    with mock.patch.dict(os.environ, variables):
        Settings(_env_file=None)


def check_http(code: str, base_url: str) -> None:
    request_line, _, body = code.partition("\n")
    method, path = request_line.split()
    payload = json.loads(body) if body.strip() else None
    reply = httpx.request(method, base_url + path, json=payload, timeout=60)
    assert reply.status_code == 200, reply.text
    if path.endswith("/chat") or path.endswith("/completions"):
        answer = reply.json() if path.endswith("/chat") else reply.json()["citechat"]
        assert answer["answered"] and answer["citations"], answer


def check_python(code: str, base_url: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code.replace(DOCS_URL, base_url), "<example>", "exec"), {})  # noqa: S102
    assert out.getvalue().strip(), "the example printed nothing"


def check_widget_tag(code: str, base_url: str) -> None:
    src = re.search(r'<script src="[^"]+(/widget\.js)"', code)
    assert src, "a widget tag loads /widget.js"
    assert httpx.get(base_url + src[1]).status_code == 200
    script = WIDGET_JS.read_text()
    for name in re.findall(r"\sdata-([a-z-]+)=", code):
        key = re.sub(r"-([a-z])", lambda m: m[1].upper(), name)
        assert f"options.{key}" in script, f"data-{name} is not an option the widget reads"


@pytest.mark.parametrize("example", RUN, ids=str)
def test_code_example_runs(example: Example, request: pytest.FixtureRequest) -> None:
    if example.language == "sh":
        check_shell(example.code)
        return
    base_url: str = request.getfixturevalue("server")
    checks = {"http": check_http, "python": check_python, "html": check_widget_tag}
    assert example.language in checks, f"{example}: untested ```{example.info}; mark illustrative"
    checks[example.language](example.code, base_url)


def test_the_examples_are_found() -> None:
    languages = {example.language for example in RUN}
    assert {"sh", "http", "python", "html"} <= languages
    assert len(typer.main.get_command(cli).commands) > 1  # type: ignore[attr-defined]


def test_a_broken_command_or_option_fails() -> None:
    with pytest.raises(AssertionError, match="not a make target"):
        check_shell("make serv")
    with pytest.raises(AssertionError, match="No such option"):
        check_shell("citechat ingest --prunes examples/haiti-mss")
    with pytest.raises(AssertionError, match="not CITECHAT_"):
        check_shell("export CITECHAT_LLM_BASEURL=http://127.0.0.1:11434/v1")
    with pytest.raises(ValueError, match="llm_base_url"):
        check_shell("export CITECHAT_LLM_BASE_URL=127.0.0.1:11434/v1")
    with pytest.raises(AssertionError, match="mark illustrative"):
        check_shell("curl http://127.0.0.1:8000/healthz")


def test_the_widget_page_lists_every_option_the_script_reads() -> None:
    read = set(re.findall(r"\boptions\.(\w+)", WIDGET_JS.read_text()))
    page = (PROJECT_DIR / "docs" / "widget.md").read_text()
    listed = set(re.findall(r"^\| `data-([a-z-]+)` \|", page, re.M))
    assert listed == {re.sub(r"([A-Z])", r"-\1", key).lower() for key in read}
