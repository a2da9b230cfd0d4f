"""How an extractive answer is written: the answering quote first, cut to its clauses, short."""

import datetime as dt
from dataclasses import replace

from service.chat.compose import MAX_CITATIONS, MAX_WORDS, compose, opens_article
from service.chat.dates import time_scope
from service.chat.evidence import Sentence, content_terms, read
from service.retrieval import Passage

TODAY = dt.date(2025, 9, 1)


def passage(text: str, document_id: str, published: str) -> Passage:
    return Passage(
        chunk_id=f"{document_id}::h::0",
        document_id=document_id,
        title=f"About {document_id}",
        source=f"https://example.org/{document_id}",
        published=published,
        text=text,
        start=0,
        end=len(text),
        score=0.5,
        similarity=0.5,
    )


RATES = [
    passage(
        "The Bank cut its rate to 4% on Thursday, the first cut in a year, taking borrowing "
        "costs to their lowest level since 2023, the governor said. Markets had expected it.",
        "2025-08.md",
        "2025-08-07",
    ),
    passage(
        "The Bank cut its rate to 4.5% on Thursday, its third cut since last summer. "
        "Growth forecasts were halved.",
        "2025-02.md",
        "2025-02-06",
    ),
    passage(
        "The Bank raised its rate to 0.25% on Thursday, its first rise in three years.",
        "2021-12.md",
        "2021-12-16",
    ),
    passage("The Bank's rate is set by a committee of nine members.", "explainer.md", ""),
    passage("The Bank cut its rate to 4.75% on Thursday.", "2024-11.md", "2024-11-07"),
]


def write(question: str, sentences: list[Sentence]) -> tuple[str, list[str], list[str]]:
    """The draft, its cited documents and its quotes, for ``sentences`` chosen best first."""
    scope = time_scope(question, TODAY)
    asked = scope.without_dates(question)
    draft, sources = compose(sentences, asked, set(content_terms(asked)), scope)
    return draft, [s.passage.document_id for s in sources], [s.quote or "" for s in sources]


def firsts(passages: list[Passage]) -> list[Sentence]:
    """The first sentence of each passage, in order."""
    sentences = read(passages).sentences
    return [next(s for s in sentences if s.passage is p) for p in passages]


def test_a_quote_is_cut_after_its_last_informative_clause_and_stays_verbatim() -> None:
    draft, documents, quotes = write("What is the Bank's rate?", firsts(RATES[:1]))

    assert quotes == [
        "The Bank cut its rate to 4% on Thursday, the first cut in a year, taking borrowing "
        "costs to their lowest level since 2023"
    ]
    assert quotes[0] in RATES[0].text
    assert "the governor said" not in draft
    assert draft == f"7 August 2025: {quotes[0]}… [1]"


def test_on_a_question_about_the_present_a_dated_source_leads_and_the_history_follows() -> None:
    chosen = firsts([RATES[3], RATES[0], RATES[1]])  # as select() gives them: undated first

    draft, documents, _ = write("What is the Bank's rate now?", chosen)

    assert draft.startswith("As of 7 August 2025: The Bank cut its rate to 4%")
    assert documents[0] == "2025-08.md"
    assert draft.index("Earlier, on 6 February 2025") < draft.index("Undated:")


def test_a_change_since_a_date_cites_its_starting_point_beside_the_others() -> None:
    chosen = firsts([RATES[0], RATES[1], RATES[4], RATES[3], RATES[2]])  # the start last

    draft, documents, _ = write("How has the Bank's rate changed since December 2021?", chosen)

    assert documents[0] == "2025-08.md" and "2021-12.md" in documents
    assert len(documents) <= MAX_CITATIONS + 1 and "explainer.md" not in documents
    assert draft.index("7 August 2025") < draft.index("Earlier, on 16 December 2021")


def test_a_question_not_about_time_gets_its_best_answer_first_and_no_history() -> None:
    chosen = firsts([RATES[3], RATES[0], RATES[1]])

    draft, documents, _ = write("How many members does the committee have?", chosen)

    assert draft.startswith("Undated: The Bank's rate is set by a committee of nine members.")
    assert "Earlier" not in draft and "As of" not in draft
    assert len(draft.split()) <= MAX_WORDS


def test_on_a_question_for_a_kind_of_answer_the_lead_sources_next_quote_precedes_history() -> None:
    lead = passage(
        "NASA released images of the Carina Nebula on Tuesday. Scientists cheered. "
        "The telescope reached its orbit around the second Lagrange point in January.",
        "2022-07.md",
        "2022-07-12",
    )
    older = [
        passage(f"The launch from Kourou moved on {d} 2021.", f"{d}.md", f"2021-{d}")
        for d in ("09-08", "10-01", "11-22", "12-25")
    ]
    sentences = read([lead]).sentences
    chosen = [sentences[0], sentences[2], *firsts(older)]

    _, documents, quotes = write("Where is the telescope now?", chosen)

    assert documents[:2] == ["2022-07.md", "2022-07.md"]
    assert "second Lagrange point" in quotes[1]


def test_each_quote_is_cited_from_the_chunk_it_comes_from() -> None:
    first = passage("The mission's crew launched on Tuesday.", "crew.md", "2024-06-05")
    second = replace(first, chunk_id="crew.md::h::1", text="The crew will stay a month.")
    chosen = [*firsts([first]), *firsts([second])]

    scope = time_scope("How long will the crew stay?", TODAY)

    _, sources = compose(chosen, "How long will the crew stay?", {"crew", "stay"}, scope)

    assert [s.passage.chunk_id for s in sources] == ["crew.md::h::0", "crew.md::h::1"]
    assert all(s.quote and s.quote in s.passage.text for s in sources)


def test_an_articles_news_is_its_first_sentences_not_its_byline() -> None:
    text = (
        "Guy Faulconbridge\n\nReuters\n\nMOSCOW (Reuters) - Putin named Andrei Belousov "
        "defence minister. Sergei Shoigu moves to the Security Council. He had led it since 2012."
    )
    sentences = read([passage(text, "moscow.md", "2024-05-12")]).sentences

    assert [s.text for s in sentences if opens_article(s)] == [
        "MOSCOW (Reuters) - Putin named Andrei Belousov defence minister.",
        "Sergei Shoigu moves to the Security Council.",
    ]


def test_on_a_question_as_of_a_date_the_lead_sources_news_comes_first() -> None:
    report = passage(
        "The Hebridean Princess ran aground off Skye on Sunday, leaving 12 passengers hurt. "
        "Rescuers worked through the night. The ship had just left Portree harbour when its "
        "hull struck rocks, the Coastguard Agency said in a statement.",
        "skye.md",
        "2025-06-22",
    )
    sentences = read([report]).sentences
    chosen = [sentences[2], sentences[0]]  # the best evidence is not the news

    draft, documents, _ = write("As of 30 June 2025, which ship ran aground near Skye?", chosen)

    assert draft.startswith("As of 22 June 2025: The Hebridean Princess ran aground")
    assert documents == ["skye.md", "skye.md"]
