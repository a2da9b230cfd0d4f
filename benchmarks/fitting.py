"""What the two fitting scripts (fit_retrieval.py, fit_abstention.py) share: their arguments."""

import argparse
from pathlib import Path

from service.evaluate.corpora import Corpus


def arguments(description: str, rows: str) -> argparse.Namespace:
    """``--corpus`` (repeated), ``--cache``, ``--rows`` (default ``rows``), ``--report-only``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--corpus", action="append", default=[], type=Corpus.parse)
    parser.add_argument("--cache", type=Path, default=Path("test-output/corpora"))
    parser.add_argument("--rows", type=Path, default=Path(rows))
    parser.add_argument("--report-only", action="store_true", help="fit the rows already written")
    return parser.parse_args()
