"""Remembering a batch function's results per text."""

from service.lexical import tokenize, tokenize_remembered
from service.memo import Remembered


def test_only_new_texts_are_computed_and_results_keep_their_order() -> None:
    batches: list[list[str]] = []

    def lengths(texts: list[str]) -> list[int]:
        batches.append(texts)
        return [len(text) for text in texts]

    remembered = Remembered(lengths, kept=3)

    assert remembered(["ab", "c", "ab"]) == [2, 1, 2]
    assert remembered(["c", "def"]) == [1, 3]
    assert batches == [["ab", "c"], ["def"]]
    assert remembered(["wxyz"]) == [4]  # past 3 texts all is forgotten
    assert remembered(["ab"]) == [2] and batches[-1] == ["ab"]


def test_remembered_terms_are_the_tokenizers() -> None:
    texts = ["The Bank of England cut rates.", "Kenya's police arrived in Haiti.", ""]

    assert tokenize_remembered(texts) == tokenize(texts)
    assert tokenize_remembered(texts[::-1]) == tokenize(texts[::-1])
