import pytest

from service.evaluate import metrics


def test_hit_at_k_counts_only_the_first_k() -> None:
    retrieved = ["a.md", "b.md", "a.md", "c.md"]
    assert metrics.hit_at_k(retrieved, ["c.md"], 4) == 1.0
    assert metrics.hit_at_k(retrieved, ["c.md"], 3) == 0.0
    assert metrics.hit_at_k(retrieved, ["x.md", "b.md"], 2) == 1.0
    assert metrics.hit_at_k([], ["a.md"], 5) == 0.0


def test_reciprocal_rank_is_one_over_the_first_relevant_rank() -> None:
    retrieved = ["a.md", "b.md", "a.md", "c.md"]
    assert metrics.reciprocal_rank(retrieved, ["a.md"]) == 1.0
    assert metrics.reciprocal_rank(retrieved, ["c.md", "b.md"]) == 0.5
    assert metrics.reciprocal_rank(retrieved, ["c.md"]) == 0.25
    assert metrics.reciprocal_rank(retrieved, ["z.md"]) == 0.0


def test_citation_precision_is_over_distinct_cited_documents() -> None:
    assert metrics.citation_precision(["a.md", "a.md", "b.md"], ["a.md"]) == 0.5
    assert metrics.citation_precision(["a.md"], ["a.md", "b.md"]) == 1.0
    assert metrics.citation_precision(["c.md"], ["a.md"]) == 0.0
    assert metrics.citation_precision([], ["a.md"]) is None


def test_citation_recall_needs_one_source_unless_all_sources() -> None:
    expected = ["a.md", "b.md", "c.md"]
    assert metrics.citation_recall(["b.md"], expected) == 1.0
    assert metrics.citation_recall(["b.md"], expected, all_sources=True) == pytest.approx(1 / 3)
    assert metrics.citation_recall(["a.md", "c.md", "x.md"], expected, all_sources=True) == (
        pytest.approx(2 / 3)
    )
    assert metrics.citation_recall(["x.md"], expected) == 0.0
    assert metrics.citation_recall(["a.md"], []) is None


def test_quote_validity_is_verbatim_containment() -> None:
    text = "The US offered $100 million.\nBlinken announced it on Friday."
    assert metrics.quote_is_valid("offered $100 million.", text)
    assert metrics.quote_is_valid("  Blinken announced it on Friday.  ", text)
    assert not metrics.quote_is_valid("offered $200 million.", text)
    assert not metrics.quote_is_valid("million. Blinken", text)  # the newline is not a space
    assert not metrics.quote_is_valid("", text)
    assert not metrics.quote_is_valid("offered", None)


def test_abstention_ok() -> None:
    assert metrics.abstention_ok(answered=True, answerable=True)
    assert metrics.abstention_ok(answered=False, answerable=False)
    assert not metrics.abstention_ok(answered=True, answerable=False)
    assert not metrics.abstention_ok(answered=False, answerable=True)


def test_mean_skips_undefined_values() -> None:
    assert metrics.mean([1.0, None, 0.0, True]) == pytest.approx(2 / 3)
    assert metrics.mean([None, None]) is None
    assert metrics.mean([]) is None


def test_percentiles_interpolate_linearly() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 100.0]
    assert metrics.percentile(values, 50) == 30.0
    assert metrics.percentile(values, 95) == pytest.approx(88.0)
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) is None
