"""What a question names or asks about, written in other words by the documents, or absent."""

import datetime as dt
from dataclasses import replace

from ingestion.embeddings import Embedder
from service.chat.condense import Standalone, standalone
from service.chat.dates import time_scope
from service.chat.evidence import Query, names_in, read
from service.chat.expected import (
    Kind,
    asked_noun,
    counted,
    expected_kind,
    holds_answer,
    person_named,
)
from service.chat.extractive import answer
from service.chat.names import Embed, Names, abbreviated
from service.chat.ranking import evidence_for, paraphrased, rank
from service.chat.types import Message
from service.evaluate.abstention_fit import RULES
from tests.chat.test_chat_parts import passage


def _ask(question: str, *texts: str, embed: Embed | None = None, title: str = "A title") -> str:
    """The answer, decided by the hand-set rules, for which a name no passage mentions is
    reason enough to abstain ("" when it does): what a name counts as shows plainly."""
    passages = [replace(passage(text, f"doc{i}.md"), title=title) for i, text in enumerate(texts)]
    asked = standalone([Message(role="user", content=question)])
    reply = answer(asked, passages, embed=embed, decide=RULES.answers)
    return reply.answer if reply.answered else ""


def test_a_run_of_capitalised_words_is_mentioned_by_its_acronym() -> None:
    approved = "The U.S. regulator granted full approval to the drug on Thursday."
    question = "What approval did the drug get in the United States?"

    assert "full approval" in _ask(question, approved)
    assert "full approval" in _ask(question, approved.replace("U.S.", "US"))
    # other capitals, or initials inside a longer word, are no acronym of it
    assert _ask(question, approved.replace("U.S.", "USA")) == ""
    assert _ask(question, approved.replace("U.S.", "UK")) == ""


def test_an_acronym_is_mentioned_by_the_words_it_stands_for() -> None:
    backed = "The European Medicines Agency recommended the drug for patients on Thursday."
    question = "Which patients did the EMA recommend the drug for?"

    assert "European Medicines Agency" in _ask(question, backed)
    assert "Food and Drug Administration" in _ask(
        "Which drug did the FDA approve?", "The Food and Drug Administration approved the drug."
    )
    assert _ask(question, backed.replace("Medicines", "Drug")) == ""


def test_a_name_written_as_its_acronym_still_decides_which_passage_answers() -> None:
    europe = "Regulators in Europe granted the drug a full licence in November."
    america = "The drug won full approval from the US regulator in July."
    question = "Which approval does the drug have in the United States?"

    # the European passage mentions "States" nowhere either, but only the other says "US"
    assert "US regulator" in _ask(question, europe + " Member States agreed.", america)


def test_how_many_asks_for_a_figure_of_the_counted_thing() -> None:
    assert counted("How many mortgage holders were affected by the rise?") == "mortgage holders"
    assert counted("How many kilograms of fuel did it carry?") == "kilograms"
    assert counted("How much did it cost?") == ""
    assert counted("How much towing capacity does Tesla claim?") == "towing capacity"
    rise = "The rate rise affected many households, as the Bank lifted its rate from 0.1% to 0.25%."
    members = "The committee has nine members, who meet eight times a year."

    # the figures of the rise count no mortgage holders
    assert _ask("How many mortgage holders were affected by the rate rise?", rise) == ""
    assert "nine members" in _ask("How many members sit on the committee?", members, rise)
    tow = "Tesla says the truck can tow more than 14,000 lbs."
    price = "Tesla said the truck would start at $39,900, four years ago."
    towing = "How much towing capacity does Tesla claim?"
    assert _ask(towing, price) == "" and "14,000 lbs" in _ask(towing, price, tow)


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


def test_when_asks_for_the_date_of_what_the_question_asks_about() -> None:
    recommended = (
        "The agency's committee has recommended granting a licence for the drug, "
        "reversing a negative opinion it issued in July. The Commission takes the final decision."
    )
    question = "When did the Commission grant a licence for the drug?"

    # July dates the committee's earlier opinion, not a grant
    assert _ask(question, recommended) == ""
    granted = "On 6 January, the Commission granted a licence for the drug."
    assert "6 January" in _ask(question, recommended, granted)  # a date opening its clause


def test_on_what_date_asks_for_a_day_not_a_vaguer_time() -> None:
    question = "On what date did the station open?"
    assert expected_kind(question) is Kind.DAY
    assert expected_kind("In what year did the station open?") is Kind.DATE
    assert expected_kind("On what day did the station open?") is Kind.DATE  # "on a Sunday"
    assert holds_answer(Kind.DAY, "The line opens on Tuesday 24 May.", question)
    assert holds_answer(Kind.DAY, "It opened on May 24, 2022.", question)
    assert not holds_answer(Kind.DAY, "The station will open later this year.", question)
    assert not holds_answer(Kind.DAY, "The station opened on Thursday in 2022.", question)

    later = "The station is not yet ready and will open later this year."
    assert _ask(question, later) == ""


def test_what_a_question_asks_about_is_found_in_other_words(embedder: Embedder) -> None:
    question = "What safety caution was added to the drug's label?"
    text = (
        "The agency granted full approval to the drug on Thursday, and updated its label. "
        "The drug's label also lists the results of the trial. "
        "The label now carries a boxed warning about brain swelling."
    )
    reading = read([passage(text), passage("The drug costs $26,500 a year.", "other.md")])
    query = Query.from_turns(question)
    ranked = rank(query, reading)
    noun = asked_noun(question)

    assert noun == "safety caution" and asked_noun("What is the label?") == ""
    reworded = paraphrased(query, noun, reading, ranked, embedder.embed_documents)
    assert reworded.weights["warn"] == query.weights["caution"]  # "warning" stands for it
    before, after = ([s.sentence.text for s in r] for r in (ranked, rank(reworded, reading)))
    warning = "The label now carries a boxed warning about brain swelling."
    assert after.index(warning) < before.index(warning)
    assert paraphrased(query, noun, reading, ranked, None) is query
    assert paraphrased(query, "", reading, ranked, embedder.embed_documents) is query


def test_a_weakly_answered_question_without_an_asked_noun_is_found_in_other_words(
    embedder: Embedder,
) -> None:
    question = "How wide is the observatory's main light collector?"
    text = (
        "The telescope's primary mirror is 6.5 metres across and made of 18 segments. "
        "The observatory will fly on an Ariane 5 rocket."
    )
    reading = read([passage(text), passage("The launch slipped to 2019.", "other.md")])
    names = Names([], [], [])

    query, _ = evidence_for(
        Standalone(question), question, Kind.ANY, names, reading, None, embedder.embed_documents
    )

    assert asked_noun(question) == ""
    assert {"primari", "across"} & query.weights.keys()  # "main", "wide" in its words


def test_a_name_some_passages_spell_out_is_mentioned_by_them() -> None:
    question = "Who was the only MPC member to vote against the rise?"
    passages = [
        passage("When the MPC raises Bank Rate it tries to cool demand.", "explainer.md"),
        passage("The Monetary Policy Committee voted 8-1 for the rise.", "news.md"),
    ]
    [(words, name)] = abbreviated(question, names_in(question), passages)

    assert [w.text for w in words] == ["MPC"]
    assert all(name.mentioned_in(c) for c in read(passages).contexts.values())


def test_a_nickname_is_recognised_by_a_title_but_a_country_never_is(embedder: Embedder) -> None:
    embed = embedder.embed_documents
    charge = "Rangnick will be in charge until the end of the season, the club said on Monday."
    interim = "Ralf Rangnick confirmed as Manchester United interim boss"
    question = "Until when will Rangnick be in charge of the Red Devils?"
    offered = "Kenya has offered to send 1,000 police officers to Haiti, its government said."
    mission = "US offers Ksh14.5 billion to support Kenya police mission in Haiti"

    assert "end of the season" in _ask(question, charge, embed=embed, title=interim)
    assert _ask(question, charge, title=interim) == ""  # without the model the name is unknown
    # "Nigeria" is as close to the title, but a country is never another name for one
    asked = "How many police officers did {} offer to send to Haiti?"
    assert "1,000" in _ask(asked.format("Kenya"), offered, embed=embed, title=mission)
    assert _ask(asked.format("Nigeria"), offered, embed=embed, title=mission) == ""


def test_a_person_is_two_capitalised_words_the_passages_never_write_otherwise() -> None:
    written = {"FTC", "rate", "the", "judge"}
    question = "Who blocked the merger?"

    assert person_named("US District Judge Adrienne Nelson granted it.", question, written)
    assert person_named("Manchester United sacked Erik ten Hag.", question, written)
    assert not person_named("The Federal Trade Commission sued.", question, written)  # "FTC"
    assert not person_named("It left Bank Rate at 4%.", question, written)  # "the rate"
    assert not person_named("Judge Nelson granted it.", question, written)  # one new word
    assert not person_named("Adrienne Nelson granted it.", "Did Adrienne Nelson?", written)


def test_a_question_for_a_name_is_led_by_the_person_a_close_sentence_names() -> None:
    vote = (
        "The Bank of England voted for raising rates on Thursday, as the central bank raised its "
        "key rate. The decision was taken by eight votes to one. "
        "Silvana Tenreyro voted against raising rates."
    )

    reply = _ask("Who voted against raising rates?", vote)

    assert reply.startswith("23 May 2025: Silvana Tenreyro voted against raising rates. [1]")


def test_a_person_introduced_by_the_best_sentence_is_named_beside_it() -> None:
    ruling = (
        "A federal judge in Oregon on Tuesday blocked the grocery merger, handing the Federal "
        "Trade Commission a victory in its effort to stop the merger. "
        "US District Judge Adrienne Nelson in Portland granted the FTC's request. "
        "Hours later, a state court judge in Seattle, Marshall Ferguson, blocked the merger in "
        "the state of Washington, ruling on a state lawsuit filed against the merger last year."
    )

    reply = _ask("Which federal judge blocked the grocery merger?", ruling)

    assert reply.startswith("23 May 2025: A federal judge in Oregon")
    assert "Adrienne Nelson" in reply


def test_a_which_question_is_led_by_the_sentence_naming_a_thing_of_the_kind_asked(
    embedder: Embedder,
) -> None:
    deal = (
        "The deal to free five detained Americans was welcomed by the James W. Foley Legacy "
        "Foundation. The agreement with Iran freed five Americans held in Tehran."
    )
    embed = embedder.embed_documents

    reply = _ask("The US made a deal with which country to free five detained Americans?", deal)
    assert reply == ""  # without the embedder "US" is a name the passage does not mention
    reply = _ask(
        "The US made a deal with which country to free five detained Americans?", deal, embed=embed
    )
    assert reply.startswith("23 May 2025: The agreement with Iran")
    reply = _ask("Which foundation welcomed the deal to free five Americans?", deal, embed=embed)
    assert reply.startswith("23 May 2025: The deal to free five detained Americans")
    collapse = (
        "The bridge collapse rocked officials, Governor Wes Moore said on Tuesday. "
        "The Francis Scott Key Bridge in Baltimore collapsed after a ship struck it."
    )
    reply = _ask("Which city was rocked by a bridge collapse?", collapse, embed=embed)
    assert reply.startswith("23 May 2025: The Francis Scott Key Bridge in Baltimore")


def test_a_nationality_describes_what_is_asked_about_and_need_not_be_mentioned(
    embedder: Embedder,
) -> None:
    embed = embedder.embed_documents
    stadium = "The final will be played at the Stade de France in Saint-Denis, north of Paris."

    reply = _ask("Which French stadium will host the final?", stadium, embed=embed)
    assert reply.startswith("23 May 2025: The final will be played at the Stade de France")
    # a name that is no nationality or group still has to be mentioned
    assert _ask("Which Lyon stadium will host the final?", stadium, embed=embed) == ""
    closing = "The American chain TGI Fridays closed dozens of restaurants in 12 states."
    filing = "Red Lobster, the seafood restaurant chain, filed for bankruptcy on Sunday."
    reply = _ask(
        "Which American restaurant chain filed for bankruptcy?", closing, filing, embed=embed
    )
    assert "Red Lobster" in reply.split("[1]")[0]  # not led by the passage saying "American"
    # unless the evidence names a country of another nationality
    wage = "Germany's minimum wage will rise to €13.90 an hour in 2026."
    assert _ask("What is the French minimum wage?", wage, embed=embed) == ""
    assert "Germany's minimum wage" in _ask("What is the German minimum wage?", wage, embed=embed)
    assert "Germany's minimum wage" in _ask("What is the European minimum wage?", wage, embed=embed)


def test_a_country_modifying_a_noun_describes_it_and_need_not_be_mentioned() -> None:
    ousted = "Kevin McCarthy was ousted as speaker of the House of Representatives on Tuesday."

    for country in ("US", "United States"):
        reply = _ask(f"Which lawmaker was ousted as speaker of the {country} House?", ousted)
        assert "Kevin McCarthy was ousted" in reply
    # a code that is not the country's initials stands for other things ("AI": Anguilla)
    assert _ask("Which lawmaker was ousted as speaker of the AI House?", ousted) == ""
    # a country the question speaks of, not one describing a thing, has to be mentioned
    assert _ask("Which speaker has the US ousted?", ousted) == ""
    assert _ask("Which speaker was ousted in the UK?", ousted) == ""
    # nor does one that the evidence contradicts by naming another country
    wage = "Germany's minimum wage will rise to €13.90 an hour in 2026."
    assert _ask("What is the Canada minimum wage?", wage) == ""
    assert "Germany's minimum wage" in _ask("What is the Germany minimum wage?", wage)


def test_a_figure_a_word_bounds_need_not_be_written_as_the_question_does() -> None:
    spying = "Manuel Rocha is accused of serving as a covert agent for Cuba for four decades."

    for bounded in ("more than 40 years", "over 40 years"):
        reply = _ask(f"Rocha was an agent for {bounded} for which country?", spying)
        assert "for Cuba for four decades" in reply
    # a figure the question states outright is one the passages have to mention
    assert _ask("Rocha was an agent for 40 years for which country?", spying) == ""


def test_a_question_for_what_did_not_happen_is_led_by_a_sentence_saying_so(
    embedder: Embedder,
) -> None:
    embed = embedder.embed_documents
    offered = "Kenya, Jamaica, the Bahamas and Belize offered police officers for the mission."
    missing = "The Bahamas has not sent any officers yet, citing a lack of funding."

    reply = _ask("Which country has not sent its officers?", offered, missing, embed=embed)
    assert reply.split("[1]")[0].endswith("The Bahamas has not sent any officers yet… ")
    # a question negating nothing is led as before: by the sentence naming the most countries
    reply = _ask("Which country has sent its officers?", offered, missing, embed=embed)
    assert reply.split("[1]")[0].endswith("offered police officers for the mission. ")


def test_a_which_question_is_led_by_the_kind_it_names_before_any_person(
    embedder: Embedder,
) -> None:
    # The newest source leads; its sentence naming a person scores close to its best, which
    # names the state: "who" would be led by the person, "which state" is not.
    older = replace(
        passage(
            "The Supreme Court said the State can enforce its ban on the treatment for minors in "
            "Idaho.",
            "a.md",
        ),
        published="2024-04-15",
    )
    newer = passage(
        "Families had waited for months. The Supreme Court agreed to hear the challenge to "
        "Tennessee's ban on the treatment for minors. The ban on treatment for minors is a "
        "challenge the court will hear, said Tara Borelli.",
        "b.md",
    )
    question = "As of June 2025, the Supreme Court will hear a challenge to a ban on the treatment"
    question += " for minors in which state?"

    reply = answer(
        standalone([Message(role="user", content=question)]),
        [older, newer],
        time_scope(question, dt.date(2026, 1, 1)),
        embed=embedder.embed_documents,
        decide=RULES.answers,
    )

    lead = reply.answer.split("[1]")[0]
    assert "Tennessee" in lead and "Borelli" not in lead
