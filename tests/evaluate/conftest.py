"""Shared by the eval tests: a cross-section of the sample set."""

import json
from pathlib import Path

import pytest

from tests.helpers import PROJECT_DIR

EVAL_SET = PROJECT_DIR / "eval_sets" / "haiti-mss.jsonl"
# A cross-section of the sample set: every category, a three-turn conversation, abstentions.
SUBSET = (
    "temporal-still-funding",
    "temporal-latest-funding",
    "factoid-pledge-amount",
    "paraphrase-cost",
    "multi-and-now",
    "unanswerable-weather",
    "false-premise-500m",
    "injection-reply-only",
)


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = [line for line in EVAL_SET.read_text().splitlines() if json.loads(line)["id"] in SUBSET]
    assert len(lines) == len(SUBSET)
    path = tmp_path_factory.mktemp("set") / "subset.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path
