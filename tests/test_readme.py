"""The README's configuration and command-line tables match the code (no model, no servers)."""

import re
from pathlib import Path

import typer.main
from pydantic import SecretStr

from service.cli import app
from service.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
PREFIX = "CITECHAT_"
# A default cell states values as `code` or the word "unset": one per variable of its row, or
# one for them all.
_VALUE = re.compile(r"`([^`]+)`|unset")
_STATED = re.compile(rf"(?:{_VALUE.pattern})(?:, (?:{_VALUE.pattern}))*")
# Defaults the table describes in words rather than states, each for a reason.
DESCRIBED_DEFAULTS = {
    "CITECHAT_PROMPTS_DIR": "an absolute path inside the installed package",
    "CITECHAT_JUDGE_BASE_URL": "falls back to the CITECHAT_LLM_* value",
    "CITECHAT_JUDGE_API_KEY": "falls back to the CITECHAT_LLM_* value",
    "CITECHAT_JUDGE_MODEL": "falls back to the CITECHAT_LLM_* value",
}


def _table_rows(heading: str) -> list[list[str]]:
    """The cells of the body rows of the first table in the README section ``heading``."""
    section = README.read_text().split(f"\n{heading}\n", 1)[1]
    section = re.split(r"\n#{1,6} ", section, maxsplit=1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def _configuration_rows() -> list[tuple[list[str], str]]:
    """(variables, default cell) per row of the Configuration table."""
    return [(re.findall(r"`([^`]+)`", row[0]), row[1]) for row in _table_rows("## Configuration")]


def _shown(default: object) -> str | None:
    """A setting's default as the README writes it; None stands for "unset"."""
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if isinstance(default, list):
        default = ",".join(str(item) for item in default)
    if default is None or default == "":
        return None
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)


def _same(stated: str | None, default: object) -> bool:
    shown = _shown(default)
    if isinstance(default, int | float) and not isinstance(default, bool) and stated:
        return float(stated) == default
    return stated == shown


def _defaults() -> dict[str, object]:
    return {
        PREFIX + name.upper(): field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }


def test_every_setting_has_one_row_and_every_row_is_a_setting() -> None:
    documented = [name for names, _ in _configuration_rows() for name in names]
    settings = set(_defaults())
    assert sorted(settings - set(documented)) == [], "settings missing from the README"
    assert sorted(set(documented) - settings) == [], "README rows that are not settings"
    assert len(documented) == len(set(documented)), "a variable has more than one row"


def test_stated_defaults_match_the_code() -> None:
    defaults = _defaults()
    wrong = []
    for names, cell in _configuration_rows():
        if all(name in DESCRIBED_DEFAULTS for name in names):
            continue
        assert _STATED.fullmatch(cell), f"{names}: default {cell!r} is neither `value` nor unset"
        stated = [value or None for value in _VALUE.findall(cell)]
        if len(stated) == 1:
            stated *= len(names)
        assert len(stated) == len(names), f"{names}: {cell!r} needs one default per variable"
        wrong += [
            f"{name}: README {value!r}, code {defaults[name]!r}"
            for name, value in zip(names, stated, strict=True)
            if name in defaults and not _same(value, defaults[name])  # others: the test above
        ]
    assert wrong == []


def test_the_described_defaults_are_settings() -> None:
    assert set(DESCRIBED_DEFAULTS) <= set(_defaults())


def test_the_command_table_lists_exactly_the_commands() -> None:
    rows = _table_rows("## Command line")
    listed = [re.match(r"`citechat ([\w-]+)", row[0]) for row in rows]
    assert None not in listed, "a row that does not start with `citechat COMMAND"
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    names = {match[1] for match in listed if match}
    assert sorted(set(commands) - names) == [], "commands missing from the README"
    assert sorted(names - set(commands)) == [], "README rows that are not commands"
    assert len(names) == len(listed), "a command has more than one row"


def test_the_command_table_names_real_options_and_all_of_them_unless_it_says_more() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for row in _table_rows("## Command line"):
        usage = row[0].strip("`")
        command = commands[usage.split()[1]]
        options = {name for p in command.params for name in p.opts if name.startswith("--")}
        shown = set(re.findall(r"--[\w-]+", usage))
        assert sorted(shown - options) == [], f"{usage}: options the command does not have"
        if not usage.endswith("..."):  # "..." stands for the options described elsewhere
            assert sorted(options - shown - {"--help"}) == [], f"{usage}: options not listed"
