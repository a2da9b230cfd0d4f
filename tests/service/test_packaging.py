"""The wheel carries everything the packages read at run time (prompts, static files,
templates), so a non-editable install works from any directory; the CLI also runs as a module."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import PROJECT_DIR

PACKAGES = ("service", "ingestion")


def test_the_wheel_holds_every_file_of_the_packages(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_DIR / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_DIR / package,
            source / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*command, "--wheel-dir", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )

    [wheel] = (tmp_path / "dist").glob("citechat-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    files = {
        path.relative_to(source).as_posix()
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file()
    }
    assert files - shipped == set()
    assert {
        "service/prompts/answer.md",  # prompts/, through the service/prompts link
        "service/static/widget.js",
        "service/evaluate/templates/report.html.j2",
    } <= shipped


def test_the_cli_runs_as_a_module() -> None:
    """``python -m service.cli`` is the console script without an installed entry point."""
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "--help"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: python -m service.cli" in result.stdout
    assert "ingest" in result.stdout


def test_every_path_the_dockerfile_copies_is_in_the_build_context() -> None:
    """.dockerignore excludes everything but what it re-includes (``!path``): each path a
    ``COPY`` of the build context names must be one of those (or inside one)."""
    ignore = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    included = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    copied = [
        source.rstrip("/")
        for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]

    assert copied
    missing = [p for p in copied if not any(p == i or p.startswith(f"{i}/") for i in included)]
    assert not missing, f"COPY sources excluded by .dockerignore: {missing}"
