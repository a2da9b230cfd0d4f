import json
from pathlib import Path

import pytest

from service.evaluate.cases import EvalSetError, load_eval_set, missing_groups

GOOD = {
    "id": "q1",
    "category": "factoid",
    "turns": ["How much did the US offer?"],
    "expect_any": [["100 million", "Ksh14.5 billion"]],
    "sources": ["2023-09-23-us-offers-100m-for-kenya-led-haiti-mission.md"],
}


def write_set(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_valid_set_loads_with_defaults_and_skips_blank_lines(tmp_path: Path) -> None:
    second = {"id": "q2", "category": "unanswerable", "turns": ["Who won?"], "answerable": False}
    cases = load_eval_set(
        write_set(tmp_path / "s.jsonl", [json.dumps(GOOD), "", json.dumps(second)])
    )
    assert [c.id for c in cases] == ["q1", "q2"]
    assert cases[0].all_sources is False and cases[0].answerable is True
    assert cases[1].expect_any == [] and cases[1].sources == []
    assert cases[1].question == "Who won?"


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ('{"id": "q2", "category": "x", "turns": ["a"]', "invalid JSON"),
        ('["q2"]', "expected a JSON object"),
        ('{"id": "q2", "category": "x", "turns": []}', "turns: List should have at least 1 item"),
        ('{"id": "q2", "category": "x"}', "turns: Field required"),
        ('{"id": "", "category": "x", "turns": ["a"]}', "id: String should have at least 1"),
        ('{"id": "q2", "category": "x", "turns": ["a"], "expect_any": [[]]}', "groups must not"),
        ('{"id": "q2", "category": "x", "turns": ["a"], "expect_any": ["100"]}', "expect_any.0"),
        ('{"id": "q2", "category": "x", "turns": ["a"], "all_sources": true}', "needs sources"),
        ('{"id": "q2", "category": "x", "turns": ["a"], "answerable": "maybe"}', "answerable"),
        ('{"id": "q2", "category": "x", "turns": ["a"], "expected": 1}', "expected: Extra"),
        ('{"id": "q1", "category": "x", "turns": ["a"]}', "duplicate id 'q1' (first on line 1)"),
    ],
)
def test_a_malformed_line_is_named_with_its_number(
    tmp_path: Path, bad_line: str, problem: str
) -> None:
    path = write_set(tmp_path / "s.jsonl", [json.dumps(GOOD), "", bad_line, json.dumps(GOOD)])
    with pytest.raises(EvalSetError) as caught:
        load_eval_set(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")
    assert problem in str(caught.value)


def test_an_empty_or_missing_set_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="holds no questions"):
        load_eval_set(write_set(tmp_path / "empty.jsonl", ["", "  "]))
    with pytest.raises(EvalSetError, match="cannot read"):
        load_eval_set(tmp_path / "missing.jsonl")


def test_every_group_needs_one_alternative_ignoring_case_and_spacing() -> None:
    groups = [["withhold", "halt"], ["23 May 2025", "May 23, 2025"]]
    assert missing_groups("As of 23  May 2025 the US will WITHHOLD funding [1].", groups) == []
    assert missing_groups("As of May 2025 the US will halt funding.", groups) == [groups[1]]
    assert missing_groups("The US keeps funding it.", groups) == groups
    assert missing_groups("anything", []) == []
