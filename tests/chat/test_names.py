"""Names of a question that the documents write in other words: acronyms, paraphrases."""

from service.chat.condense import standalone
from service.chat.extractive import answer
from service.chat.types import Message
from tests.chat.test_chat_parts import passage


def _ask(question: str, *texts: str) -> str:
    passages = [passage(text, f"doc{i}.md") for i, text in enumerate(texts)]
    reply = answer(standalone([Message(role="user", content=question)]), passages)
    return reply.answer if reply.answered else ""


def test_a_run_of_capitalised_words_is_mentioned_by_its_acronym() -> None:
    approved = "The U.S. regulator granted full approval to the drug on Thursday."
    question = "What approval did the drug get in the United States?"

    assert "full approval" in _ask(question, approved)
    assert "full approval" in _ask(question, approved.replace("U.S.", "US"))
    # other capitals, or initials inside a longer word, are no acronym of it
    assert _ask(question, approved.replace("U.S.", "USA")) == ""
    assert _ask(question, approved.replace("U.S.", "UK")) == ""
