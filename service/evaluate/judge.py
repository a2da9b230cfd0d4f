"""Optional LLM judge: faithfulness and answer relevance scored by an OpenAI-compatible model.

Prompts are ``prompts/judge_faithfulness.md`` and ``prompts/judge_relevance.md`` with
``$question``, ``$answer`` and (faithfulness) ``$evidence``. The model replies
``{"score": 1-5, "reason": ...}``; scores become 0..1. A failed or unreadable verdict leaves the
score undefined (None) rather than stopping the evaluation.
"""

import json
import logging
import re
from pathlib import Path

from service.chat.llm import ChatModel, Deadline, LLMError
from service.chat.prompts import PromptError, Prompts
from service.evaluate.records import QuestionResult, Reply
from service.settings import Settings
from service.wiring import build_chat_model

logger = logging.getLogger(__name__)

JUDGE_PROMPTS = {
    "judge_faithfulness": frozenset({"question", "answer", "evidence"}),
    "judge_relevance": frozenset({"question", "answer"}),
}
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class JudgeError(Exception):
    """The judge cannot be set up; the message says what is missing."""


def parse_verdict(text: str) -> float | None:
    """The 1-5 score of a verdict as 0..1; None when the text holds no valid score."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        return None
    try:
        score = json.loads(match.group()).get("score")
    except (json.JSONDecodeError, AttributeError):
        return None
    if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 5:
        return None
    return (float(score) - 1) / 4


class Judge:
    """Scores answers with an LLM; one request per metric and question."""

    def __init__(self, model: ChatModel, prompts_dir: Path, deadline: float) -> None:
        self.model = model
        self._deadline = deadline  # seconds per verdict
        try:
            self._prompts = Prompts.load(prompts_dir, JUDGE_PROMPTS)
        except PromptError as exc:
            raise JudgeError(exc.detail) from exc

    def score(self, result: QuestionResult) -> QuestionResult:
        """``result`` with faithfulness (answered questions) and answer relevance filled in."""
        reply = result.reply
        if reply is None:
            return result
        question = reply.question or result.turns[-1]
        relevance = self._ask("relevance", question=question, answer=reply.answer)
        faithfulness = None
        if reply.answered:
            evidence = _evidence(reply)
            faithfulness = self._ask(
                "faithfulness", question=question, answer=reply.answer, evidence=evidence
            )
        scores = result.scores.model_copy(
            update={"faithfulness": faithfulness, "answer_relevance": relevance}
        )
        return result.model_copy(update={"scores": scores})

    def _ask(self, name: str, **values: str) -> float | None:
        prompt = self._prompts.render(f"judge_{name}", **values)
        try:
            text = self.model.complete(
                [{"role": "user", "content": prompt}], Deadline(self._deadline)
            )
        except LLMError as exc:
            logger.warning("judge request for %s failed: %s", name, exc)
            return None
        verdict = parse_verdict(text)
        if verdict is None:
            logger.warning("judge gave no valid %s score: %.200s", name, text)
        return verdict


def _evidence(reply: Reply) -> str:
    if not reply.citations:
        return "(no passages cited)"
    return "\n".join(
        f"[{c.marker}] {c.title} ({c.published or 'undated'}): {c.quote}" for c in reply.citations
    )


def build_judge(settings: Settings) -> Judge:
    """The judge the settings describe: ``CITECHAT_JUDGE_*``, else ``CITECHAT_LLM_*``."""
    base_url = settings.judge_base_url or settings.llm_base_url
    if not base_url:
        raise JudgeError("--judge needs CITECHAT_JUDGE_BASE_URL (or CITECHAT_LLM_BASE_URL)")
    api_key = settings.judge_api_key.get_secret_value() or settings.llm_api_key.get_secret_value()
    model = build_chat_model(
        settings, base_url, api_key, settings.judge_model or settings.llm_model
    )
    return Judge(model, settings.prompts_dir, settings.llm_deadline)
