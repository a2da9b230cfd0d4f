"""The regression gate: compare a report with a saved baseline report.

The gate fails when a headline metric drops by more than ``max_drop`` (absolute, on the 0..1
scale), or when a question that passed in the baseline fails now.
"""

from dataclasses import dataclass, field

from service.evaluate.records import HEADLINE_METRICS, QuestionResult, Report
from service.evaluate.report import percent

EPSILON = 1e-9  # so a drop of exactly max_drop, give or take rounding, passes


@dataclass(frozen=True)
class MetricChange:
    name: str
    baseline: float
    current: float

    @property
    def change(self) -> float:
        return self.current - self.baseline


@dataclass(frozen=True)
class Regression:
    """A question that passed in the baseline and fails now."""

    baseline: QuestionResult
    current: QuestionResult


@dataclass
class GateResult:
    max_drop: float
    changes: list[MetricChange] = field(default_factory=list)
    regressions: list[Regression] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # ids failing in the baseline, passing now
    missing: list[str] = field(default_factory=list)  # baseline ids absent from this run

    @property
    def drops(self) -> list[MetricChange]:
        return [c for c in self.changes if -c.change > self.max_drop + EPSILON]

    @property
    def passed(self) -> bool:
        return not self.drops and not self.regressions


def compare(baseline: Report, current: Report, max_drop: float) -> GateResult:
    """Compare ``current`` with ``baseline``; metrics undefined in either are skipped."""
    result = GateResult(max_drop=max_drop)
    for name in HEADLINE_METRICS:
        before, now = getattr(baseline.overall, name), getattr(current.overall, name)
        if before is not None and now is not None:
            result.changes.append(MetricChange(name, before, now))
    now_by_id = {q.id: q for q in current.questions}
    for before in baseline.questions:
        now = now_by_id.get(before.id)
        if now is None:
            result.missing.append(before.id)
        elif before.passed and not now.passed:
            result.regressions.append(Regression(before, now))
        elif now.passed and not before.passed:
            result.fixed.append(before.id)
    return result


def _answer(question: QuestionResult) -> str:
    if question.reply is None:
        return f"(no answer: {question.error})"
    return " ".join(question.reply.answer.split()) or "(empty)"


def gate_markdown(result: GateResult, baseline_name: str) -> str:
    """A readable diff: the metric table, then every regressed question with both answers."""
    verdict = "PASSED" if result.passed else "FAILED"
    lines = [
        f"## Regression gate against {baseline_name}: {verdict}",
        "",
        f"{len(result.drops)} headline metric(s) dropped by more than "
        f"{result.max_drop * 100:.1f} points; "
        f"{len(result.regressions)} question(s) passed in the baseline and fail now.",
        "",
        "| metric | baseline | now | change |",
        "|---|---|---|---|",
    ]
    dropped = {c.name for c in result.drops}
    for c in result.changes:
        flag = " **dropped**" if c.name in dropped else ""
        lines.append(
            f"| {c.name} | {percent(c.baseline)} | {percent(c.current)} | "
            f"{c.change * 100:+.1f} pts{flag} |"
        )
    if result.regressions:
        lines += ["", "### Questions that passed in the baseline and fail now"]
        for r in result.regressions:
            lines += [
                "",
                f"- `{r.current.id}` ({r.current.category}): {r.current.turns[-1]}",
                f"  - fails because: {'; '.join(r.current.reasons)}",
                f"  - baseline answer: {_answer(r.baseline)}",
                f"  - current answer: {_answer(r.current)}",
            ]
    if result.fixed:
        lines += ["", "Now passing: " + ", ".join(f"`{i}`" for i in result.fixed)]
    if result.missing:
        lines += ["", "In the baseline but not in this run: " + ", ".join(result.missing)]
    return "\n".join(lines) + "\n"
