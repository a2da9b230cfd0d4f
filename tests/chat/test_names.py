"""Names of a question that the documents write in other words: acronyms, paraphrases."""

from ingestion.embeddings import Embedder
from service.chat.condense import standalone
from service.chat.expected import Kind, counted, expected_kind, holds_answer
from service.chat.extractive import Embed, answer
from service.chat.types import Message
from tests.chat.test_chat_parts import passage


def _ask(question: str, *texts: str, embed: Embed | None = None) -> str:
    passages = [passage(text, f"doc{i}.md") for i, text in enumerate(texts)]
    reply = answer(standalone([Message(role="user", content=question)]), passages, embed=embed)
    return reply.answer if reply.answered else ""


def test_a_run_of_capitalised_words_is_mentioned_by_its_acronym() -> None:
    approved = "The U.S. regulator granted full approval to the drug on Thursday."
    question = "What approval did the drug get in the United States?"

    assert "full approval" in _ask(question, approved)
    assert "full approval" in _ask(question, approved.replace("U.S.", "US"))
    # other capitals, or initials inside a longer word, are no acronym of it
    assert _ask(question, approved.replace("U.S.", "USA")) == ""
    assert _ask(question, approved.replace("U.S.", "UK")) == ""


def test_how_many_asks_for_a_figure_of_the_counted_thing() -> None:
    assert counted("How many mortgage holders were affected by the rise?") == "mortgage holders"
    assert counted("How many kilograms of fuel did it carry?") == "kilograms"
    assert counted("How much did it cost?") == ""
    rise = "The rate rise affected many households, as the Bank lifted its rate from 0.1% to 0.25%."
    members = "The committee has nine members, who meet eight times a year."

    # the figures of the rise count no mortgage holders
    assert _ask("How many mortgage holders were affected by the rate rise?", rise) == ""
    assert "nine members" in _ask("How many members sit on the committee?", members, rise)


def test_a_figure_counts_a_thing_named_in_other_words(embedder: Embedder) -> None:
    population = "The country's population is expected to reach 1,425,775,850 by the end of April."
    question = "How many inhabitants is the country expected to have?"

    assert "1,425,775,850" in _ask(question, population, embed=embedder.embed_documents)
    assert _ask(question, population) == ""  # without the model only the words count
    assert (
        _ask(
            "How many kilograms is the country expected to have?",
            population,
            embed=embedder.embed_documents,
        )
        == ""
    )


def test_on_what_date_asks_for_a_day_not_a_vaguer_time() -> None:
    question = "On what date did the station open?"
    assert expected_kind(question) is Kind.DAY
    assert expected_kind("In what year did the station open?") is Kind.DATE
    assert holds_answer(Kind.DAY, "The line opens on Tuesday 24 May.", question)
    assert holds_answer(Kind.DAY, "It opened on May 24, 2022.", question)
    assert not holds_answer(Kind.DAY, "The station will open later this year.", question)
    assert not holds_answer(Kind.DAY, "The station opened on Thursday in 2022.", question)

    later = "The station is not yet ready and will open later this year."
    assert _ask(question, later) == ""
