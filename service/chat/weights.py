"""The extractive answerer's weights and ratios: one place, read as ``weights.NAME`` at answer
time, so that ``make fit-constants`` (:mod:`service.evaluate.constants_fit`) can try each at
other values.

Set by hand on eval_sets/haiti-mss.jsonl as a whole (never per question), then checked by
`make fit-constants`: on the four development corpora, changing any one of them to another value
of its grid passes no more questions held out (tests/evaluate/test_constants_fit.py, on the
committed rows).
"""

# How a sentence's evidence is scored (service.chat.ranking)
CONTEXT_WEIGHT = 0.5  # coverage of the query by the sentence's passage, title and date
SIMILARITY_WEIGHT = 0.5  # the passage's cosine similarity to the query
SEMANTIC_WEIGHT = 0.5  # the sentence's cosine similarity to the query (its passage's if unknown)
LEAD_BONUS = 0.15  # the first sentences of an article state its news
NAME_PENALTY = 0.5  # evidence lost when the passage mentions none of the question's names
# A word means what a word of the question means when their vectors are this close
# ("population" to "inhabitants" 0.57, "warning" to "caution"); words of other things score
# lower ("Bank Rate" to "mortgage holders" 0.29).
WORD_SIMILARITY = 0.5

# When the evidence answers (service.chat.extractive)
SCOPE_RATIO = 0.5  # the best sentence within the time scope must score this share of the best
MIN_EVIDENCE = 0.75  # below this the best sentence does not answer: abstain
KIND_RATIO = 0.8  # the best sentence holding the kind of answer asked, against the best of all

# Which sentences lead and follow (service.chat.leads)
ADDRESS_RATIO = 0.6  # a source addresses a question about time when its best scores this share
# ... or, on a question asking for a value, when a sentence holding one is this close in meaning
VALUE_RATIO = 0.65  # (a value is often stated in other words: "its final bill" for a cost)
KEEP_RATIO = 0.65  # a further sentence is kept when it scores this share of the best
TIMELINE_RATIO = 0.5  # the best sentence of another document, on a question about time
# A present-tense question that names no period ("What is the minimum wage?") is led by the
# newest dated source when its best sentence scores this share of the best of all sources.
PRESENT_TENSE_RATIO = 0.9
