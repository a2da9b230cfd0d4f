"""The lexical side of retrieval: BM25 over the stored chunk texts, by chunk id.

A large base index (bm25s) is built from the whole store; later changes go to a small delta
scored with the base's statistics, and the base's rows of changed documents are hidden. So a
one-article change costs a few chunks, not the collection. Every update returns a new index
and leaves the old one as it was, so searches running meanwhile see one consistent index.

Each row also keeps its document's publication day and source host, so a search with
:class:`~service.filters.Filters` scores only the rows they admit before taking the best.
"""

import json
import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from ingestion.filter_fields import UNDATED
from service.filters import Filters
from service.memo import Remembered

_STEMMER = Stemmer.Stemmer("english")
K1, B = 1.5, 0.75  # bm25s's defaults, used for the delta too
_ROWS_FILE = "rows.json"  # beside bm25s's own files in a saved index


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed content words, English stop words removed."""
    tokens: list[list[str]] = bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )
    return tokens


# The answerer reads the same passages' sentences question after question, and bm25s's set-up
# per call dominates the cost of short texts: their terms are remembered.
tokenize_remembered = Remembered(tokenize, 100_000)


@dataclass(frozen=True)
class LexicalChunk:
    chunk_id: str
    document_id: str
    text: str
    day: int = UNDATED  # the document's publication day, YYYYMMDD (ingestion/filter_fields.py)
    host: str = ""  # its source's host


@dataclass(frozen=True)
class _DeltaChunk:
    chunk_id: str
    terms: Counter[str]
    length: int
    document_id: str
    day: int
    host: str


@dataclass(frozen=True)
class RowFields:
    """What filters select on, per base row: publication days (YYYYMMDD) and source hosts."""

    days: list[int]
    hosts: list[str]


class _Base:
    """bm25s over the chunks of one full read of the store."""

    def __init__(
        self,
        model: bm25s.BM25,
        ids: list[str],
        documents: list[str],
        avg_length: float,
        fields: RowFields | None,
    ) -> None:
        self.model = model
        self.ids = ids
        self.documents = documents  # the document id of each row
        self.rows: dict[str, list[int]] = {}
        for row, document_id in enumerate(documents):
            self.rows.setdefault(document_id, []).append(row)
        self.avg_length = avg_length
        self.fields: RowFields | None = None  # None: a snapshot saved before filters
        self._days = np.zeros(0, dtype=np.int32)
        self._host_codes = np.zeros(0, dtype=np.int32)
        self._host_code: dict[str, int] = {}
        if fields is not None:
            self.set_fields(fields)
        counts = np.diff(model.scores["indptr"])  # chunks per token id (bm25s adds "")
        self.frequency = {
            token: int(counts[i]) for token, i in model.vocab_dict.items() if i < len(counts)
        }

    @classmethod
    def build(cls, chunks: list[LexicalChunk]) -> "_Base | None":
        """bm25s over ``chunks``; None when none has a term (only stop words): bm25s cannot
        index that, and such chunks match no query."""
        tokens = tokenize([c.text for c in chunks])
        if not any(tokens):
            return None
        model = bm25s.BM25(k1=K1, b=B)
        model.index(tokens, show_progress=False)
        avg_length = sum(map(len, tokens)) / len(tokens)
        ids, documents = [c.chunk_id for c in chunks], [c.document_id for c in chunks]
        fields = RowFields([c.day for c in chunks], [c.host for c in chunks])
        return cls(model, ids, documents, avg_length, fields)

    def set_fields(self, fields: RowFields) -> None:
        """Keep the rows' filter fields, checked; raise ``ValueError`` if malformed."""
        _check_fields(fields, len(self.ids))
        self.fields = fields
        self._days = np.asarray(fields.days, dtype=np.int32)
        for host in fields.hosts:
            self._host_code.setdefault(host, len(self._host_code))
        self._host_codes = np.asarray([self._host_code[h] for h in fields.hosts], dtype=np.int32)

    def admitted(self, filters: Filters) -> np.ndarray:
        """A mask of the rows ``filters`` admit (none, if the rows' fields are unknown)."""
        if self.fields is None:
            return np.zeros(len(self.ids), dtype=bool)
        mask = np.ones(len(self.ids), dtype=bool)
        if (days := filters.day_range()) is not None:
            mask &= (self._days >= days[0]) & (self._days <= days[1])
        if filters.source_hosts is not None:
            codes = [self._host_code[h] for h in filters.source_hosts if h in self._host_code]
            mask &= np.isin(self._host_codes, codes)
        if filters.document_ids is not None:
            named = np.zeros(len(self.ids), dtype=bool)
            for document_id in filters.document_ids:
                named[self.rows.get(document_id, [])] = True
            mask &= named
        return mask

    def save(self, directory: Path) -> None:
        self.model.save(str(directory), show_progress=False)
        rows: dict[str, object] = {
            "ids": self.ids,
            "documents": self.documents,
            "avg_length": self.avg_length,
        }
        if self.fields is not None:
            rows |= {"days": self.fields.days, "hosts": self.fields.hosts}
        (directory / _ROWS_FILE).write_text(json.dumps(rows))

    @classmethod
    def load(cls, directory: Path) -> "_Base":
        model = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        rows = json.loads((directory / _ROWS_FILE).read_text())
        ids, documents, avg_length = rows["ids"], rows["documents"], rows["avg_length"]
        _check_rows(ids, documents, avg_length)
        _check_model(model, len(ids))
        # a snapshot saved before filters has no fields: the retriever reads them from the store
        fields = RowFields(rows["days"], rows["hosts"]) if "days" in rows else None
        return cls(model, ids, documents, float(avg_length), fields)

    def terms_of(self, row: int) -> set[int]:
        """The token ids (score matrix columns) that row ``row`` holds."""
        indices, indptr = self.model.scores["indices"], self.model.scores["indptr"]
        places = np.flatnonzero(np.asarray(indices) == row)
        columns = np.searchsorted(np.asarray(indptr), places, side="right") - 1
        return set(columns.tolist())


def _check_rows(ids: object, documents: object, avg_length: object) -> None:
    """Raise ``ValueError`` unless the rows are distinct chunk ids of their documents
    (``<document id>::...``, as ingestion.chunking names them) and the average length is a
    positive number."""
    if not (isinstance(ids, list) and isinstance(documents, list)):
        raise ValueError("the row ids are not lists")
    if not ids or len(ids) != len(documents):
        raise ValueError(f"{len(ids)} row ids for {len(documents)} documents")
    for chunk_id, document_id in zip(ids, documents, strict=True):
        if not (isinstance(chunk_id, str) and isinstance(document_id, str)):
            raise ValueError(f"row id {chunk_id!r} of {document_id!r} is not a string")
        if not chunk_id.startswith(f"{document_id}::"):
            raise ValueError(f"row id {chunk_id!r} is not a chunk of {document_id!r}")
    if len(set(ids)) != len(ids):
        raise ValueError("the row ids repeat")
    if isinstance(avg_length, bool) or not isinstance(avg_length, int | float):
        raise ValueError(f"average length {avg_length!r} is not a number")
    if not (math.isfinite(avg_length) and avg_length > 0):
        raise ValueError(f"average length {avg_length!r} is not a positive number")


def _check_fields(fields: RowFields, rows: int) -> None:
    """Raise ``ValueError`` unless ``fields`` hold a day (a non-negative integer) and a host
    (a string) for each of ``rows`` rows."""
    days, hosts = fields.days, fields.hosts
    if not (isinstance(days, list) and isinstance(hosts, list)):
        raise ValueError("the rows' days and hosts are not lists")
    if not len(days) == len(hosts) == rows:
        raise ValueError(f"{len(days)} days and {len(hosts)} hosts for {rows} rows")
    if not all(type(day) is int and 0 <= day < 2**31 for day in days):
        raise ValueError("the rows' days are not all YYYYMMDD numbers")
    if not all(isinstance(host, str) for host in hosts):
        raise ValueError("the rows' hosts are not all strings")


def _check_model(model: bm25s.BM25, rows: int) -> None:
    """Raise ``ValueError`` unless ``model`` is a well-formed bm25s index of ``rows`` rows,
    scored as the delta is: every row index in bounds, every score finite and positive,
    every token a column."""
    if (model.method, model.k1, model.b) != ("lucene", K1, B):
        raise ValueError(f"scored by {model.method} k1={model.k1} b={model.b}, not lucene {K1} {B}")
    scores = model.scores
    if scores.get("num_docs") != rows:
        raise ValueError(f"{scores.get('num_docs')!r} scored rows for {rows} row ids")
    data, indices, indptr = (np.asarray(scores[k]) for k in ("data", "indices", "indptr"))
    if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1 or len(indptr) < 1:
        raise ValueError("the score matrix's arrays are not vectors")
    if data.dtype.kind != "f" or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise ValueError("the score matrix's arrays have the wrong types")
    if not (indptr[0] == 0 and indptr[-1] == len(indices) == len(data)):
        raise ValueError("the score matrix's column pointers do not span its entries")
    if (np.diff(indptr) < 0).any():
        raise ValueError("the score matrix's column pointers decrease")
    if len(indices) and (indices.min() < 0 or indices.max() >= rows):
        raise ValueError("the score matrix names rows out of bounds")
    if not (np.isfinite(data) & (data > 0)).all():
        raise ValueError("the score matrix holds scores that are not positive numbers")
    columns = sorted(i for token, i in model.vocab_dict.items() if token)  # bm25s adds ""
    if columns != list(range(len(indptr) - 1)):
        raise ValueError("the vocabulary does not match the score matrix's columns")


@dataclass(frozen=True)
class Admission:
    """What ``filters`` admit of an index, worked out once for a search: ``rows``, the mask of
    its base's rows (None without a base)."""

    filters: Filters
    rows: np.ndarray | None


class LexicalIndex:
    """BM25 over a fixed set of chunks; never changed once built (see :meth:`updated`)."""

    def __init__(self, chunks: list[LexicalChunk]) -> None:
        self._base = _Base.build(chunks)
        rows = len(self._base.ids) if self._base is not None else 0
        self._hidden = np.zeros(rows, dtype=bool)  # base rows of changed documents
        self._delta: dict[str, list[_DeltaChunk]] = {}  # document id -> its current chunks

    def save(self, directory: Path) -> None:
        """Write the base index to an empty ``directory``, memory-mappable by :meth:`load`;
        only an index fresh from a full build (no changes applied) can be saved."""
        if self._base is None or not self.savable:
            raise ValueError("only a freshly built, non-empty index can be saved")
        self._base.save(directory)

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        """An index saved by :meth:`save`, its score matrix memory-mapped (shared by the
        processes that load it); raises ``OSError`` or ``ValueError`` if it is broken."""
        index = cls([])
        index._base = _Base.load(directory)
        index._hidden = np.zeros(len(index._base.ids), dtype=bool)
        return index

    def sample(self, n: int, leaving_out: set[str]) -> list[str]:
        """The ids of up to ``n`` base rows picked at random, none of ``leaving_out``'s
        documents."""
        if self._base is None:
            return []
        base = self._base
        rows = [row for row, doc in enumerate(base.documents) if doc not in leaving_out]
        return [base.ids[row] for row in random.sample(rows, min(n, len(rows)))]

    @property
    def filterable(self) -> bool:
        """False for a snapshot saved before filters, until :meth:`with_fields`."""
        return self._base is None or self._base.fields is not None

    def with_fields(self, fields: dict[str, tuple[int, str]]) -> "LexicalIndex":
        """This index, its base rows given the ``(day, host)`` of their documents in
        ``fields`` (a row of a document not in it gets none: it is hidden or soon will be)."""
        new = self.updated(set(), [])
        if self._base is not None:
            base = _Base(
                self._base.model, self._base.ids, self._base.documents, self._base.avg_length, None
            )
            found = [fields.get(d, (UNDATED, "")) for d in base.documents]
            base.set_fields(RowFields([day for day, _ in found], [host for _, host in found]))
            new._base = base
        return new

    def admission(self, filters: Filters) -> Admission:
        """What ``filters`` admit of this index, for :meth:`admitted_ids` and :meth:`search`."""
        base = self._base
        return Admission(filters, base.admitted(filters) if base is not None else None)

    def admitted_ids(self, admission: Admission, limit: int) -> list[str] | None:
        """The ids of the chunks ``admission`` admits, or None when there are more than
        ``limit`` (or a snapshot's rows have no fields yet)."""
        ids: list[str] = []
        base = self._base
        if base is not None and admission.rows is not None:
            if base.fields is None:
                return None
            rows = np.flatnonzero(admission.rows & ~self._hidden)
            if len(rows) > limit:
                return None
            ids = [base.ids[row] for row in rows]
        admits = admission.filters.admits
        for chunks in self._delta.values():
            ids += [c.chunk_id for c in chunks if admits(c.day, c.host, c.document_id)]
        return ids if len(ids) <= limit else None

    def check_rows(self, chunks: list[LexicalChunk]) -> None:
        """Raise ``ValueError`` unless each of ``chunks`` has a base row, of its document,
        holding exactly its text's terms (and its day and host, if the rows have them): a check
        of the index against the store."""
        base = self._base
        row_of = {chunk_id: row for row, chunk_id in enumerate(base.ids)} if base else {}
        for chunk, terms in zip(chunks, tokenize([c.text for c in chunks]), strict=True):
            row = row_of.get(chunk.chunk_id)
            if base is None or row is None or base.documents[row] != chunk.document_id:
                raise ValueError(f"chunk {chunk.chunk_id!r} is not a row of the index")
            vocab = base.model.vocab_dict
            if base.terms_of(row) != {vocab.get(term, -1) for term in terms if term}:
                raise ValueError(f"the row of chunk {chunk.chunk_id!r} holds other terms")
            fields = base.fields
            if fields is not None and (fields.days[row], fields.hosts[row]) != (
                chunk.day,
                chunk.host,
            ):
                raise ValueError(f"the row of chunk {chunk.chunk_id!r} holds another day or host")

    @property
    def savable(self) -> bool:
        """True for a non-empty index fresh from a full build."""
        return self._base is not None and not self._delta and not self._hidden.any()

    def __len__(self) -> int:
        base = len(self._hidden) - int(self._hidden.sum())
        return base + self.delta_size

    @property
    def delta_size(self) -> int:
        return sum(map(len, self._delta.values()))

    def updated(self, documents: set[str], chunks: list[LexicalChunk]) -> "LexicalIndex":
        """A new index where ``documents`` hold exactly ``chunks`` (none: deleted)."""
        new = LexicalIndex([])
        new._base = self._base
        new._hidden = self._hidden.copy()
        new._delta = {d: c for d, c in self._delta.items() if d not in documents}
        if self._base is not None:
            for document_id in documents:
                new._hidden[self._base.rows.get(document_id, [])] = True
        for chunk, terms in zip(chunks, tokenize([c.text for c in chunks]), strict=True):
            delta = _DeltaChunk(
                chunk.chunk_id, Counter(terms), len(terms), chunk.document_id, chunk.day, chunk.host
            )
            new._delta.setdefault(chunk.document_id, []).append(delta)
        return new

    def mentions(self, text: str, admission: Admission | None = None) -> bool | None:
        """True when a chunk (of those ``admission`` admits) holds a term of ``text``; None
        when ``text`` has no term the index keeps (a stop word, a one-digit figure) or the
        admitted rows are not known yet."""
        terms = tokenize([text])[0]
        if not terms or (admission is not None and not self.filterable):
            return None
        filters = admission.filters if admission is not None else None
        return bool(self._search_base(terms, 1, admission) or self._search_delta(terms, filters))

    def search(
        self, query: str, n: int, admission: Admission | None = None
    ) -> list[tuple[str, float]]:
        """The ids of the ``n`` best chunks for ``query`` with their BM25 scores, best first;
        with an ``admission``, the ``n`` best of the chunks it admits."""
        terms = tokenize([query])[0]
        filters = admission.filters if admission is not None else None
        hits = self._search_base(terms, n, admission) + self._search_delta(terms, filters)
        hits.sort(key=lambda hit: -hit[1])
        return hits[:n]

    def _search_base(
        self, terms: list[str], n: int, admission: Admission | None
    ) -> list[tuple[str, float]]:
        if self._base is None:
            return []
        known = [t for t in terms if t in self._base.model.vocab_dict]
        if not known:
            return []
        scores = self._base.model.get_scores(known)
        scores[self._hidden] = 0.0
        if admission is not None and admission.rows is not None:
            scores[~admission.rows] = 0.0  # before the best are taken
        top = np.argpartition(-scores, n)[:n] if len(scores) > n else np.arange(len(scores))
        best = top[np.argsort(-scores[top], kind="stable")]  # only the n best are sorted
        return [(self._base.ids[i], float(scores[i])) for i in best if scores[i] > 0]

    def _search_delta(self, terms: list[str], filters: Filters | None) -> list[tuple[str, float]]:
        """BM25 (bm25s's Lucene variant) of the delta's chunks that ``filters`` admit, with the
        document frequencies and average length of base and delta together."""
        chunks = [chunk for doc in self._delta.values() for chunk in doc]
        if not chunks:
            return []
        base = self._base
        total = len(chunks) + (len(self._hidden) if base else 0)
        lengths = sum(c.length for c in chunks) + (
            base.avg_length * len(self._hidden) if base else 0
        )
        avg_length = lengths / total if lengths else 1.0  # no chunk has a term: none scores
        idf = {}
        for term in set(terms):
            df = sum(1 for c in chunks if term in c.terms)
            df += base.frequency.get(term, 0) if base else 0
            idf[term] = math.log(1 + (total - df + 0.5) / (df + 0.5))
        hits = []
        for chunk in chunks:
            if filters is not None and not filters.admits(chunk.day, chunk.host, chunk.document_id):
                continue
            norm = K1 * (1 - B + B * chunk.length / avg_length)
            score = 0.0
            for term in terms:
                tf = chunk.terms.get(term, 0)
                score += idf[term] * tf / (tf + norm)
            if score > 0:
                hits.append((chunk.chunk_id, score))
        return hits
