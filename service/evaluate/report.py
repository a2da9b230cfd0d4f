"""The evaluation report: JSON for machines and the gate, HTML and Markdown for people."""

import datetime as dt
import platform
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2

from service.errors import InvalidRequest
from service.evaluate.records import Metrics, QuestionResult, Report
from service.evaluate.scoring import SHORT_ANSWER_WORDS, summarize, summarize_by_category
from service.settings import Settings

PACKAGES = (
    "citechat",
    "chromadb",
    "sentence-transformers",
    "torch",
    "llama-index-core",
    "bm25s",
    "fastapi",
    "openai",
)
# (metric, label) in the order people read them; the chart shows the first four per category.
COLUMNS = (
    ("pass_rate", "pass rate"),
    ("correctness", "correct"),
    ("citation_recall", "citation recall"),
    ("hit_at_k", "hit@k"),
    ("abstention_accuracy", "abstention"),
    ("citation_precision", "citation precision"),
    ("quote_validity", "quotes verbatim"),
    ("mrr", "MRR"),
    ("faithfulness", "faithfulness"),
    ("answer_relevance", "answer relevance"),
    ("citation_support", "LLM claims kept"),
)
CHART_METRICS = COLUMNS[:4]
CHART_COLOURS = ("#2f6f4f", "#3b6ea8", "#c7812a", "#8a5aa8")


def versions() -> dict[str, str]:
    """The versions of Python and of the packages that shape the answers."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe_run(
    target: str, results: list[QuestionResult], settings: Settings | None = None
) -> dict[str, Any]:
    """The settings of a run: the target, the answer modes seen and, in-process, the knobs."""
    replies = [r.reply for r in results if r.reply is not None]
    described: dict[str, Any] = {
        "target": target,
        "answer_modes": dict(Counter(r.mode for r in replies)),
        "max_retrieved": max((len(r.retrieved) for r in replies), default=0),
    }
    if settings is not None:
        described |= {
            "llm_model": settings.llm_model if settings.llm_base_url else None,
            "embed_backend": settings.embed_backend,
            "embed_model": settings.embed_model,
            "top_k": settings.top_k,
            "retrieval_mode": settings.retrieval_mode,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "collection": settings.collection,
        }
    return described | {"versions": versions()}


def build_report(eval_set: Path, results: list[QuestionResult], settings: dict[str, Any]) -> Report:
    return Report(
        eval_set=str(eval_set),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        settings=settings,
        overall=summarize(results),
        categories=summarize_by_category(results),
        questions=results,
    )


def load_report(path: Path) -> Report:
    """Read a JSON report (a baseline); :class:`InvalidRequest` names the file if it is not one."""
    try:
        return Report.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{path}: not a readable eval report: {exc}") from exc


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def millis(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def words(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def markdown_summary(report: Report) -> str:
    """Headline figures overall and per category as a Markdown table, then the failures.

    "answer first" is the share of right answers whose first claim (up to its first citation
    marker) holds the expected answer; "words" is the median length of the answered replies,
    "≤ 80 words" the share of them no longer (:data:`SHORT_ANSWER_WORDS`).
    """
    shown = [(key, label) for key, label in COLUMNS if getattr(report.overall, key) is not None]
    header = ["group", "passed", *(label for _, label in shown), "p50", "p95", "answer first"]
    header += ["words", f"≤ {SHORT_ANSWER_WORDS} words"]
    lines = [
        f"## Evaluation of {report.eval_set} ({report.settings.get('target', '?')})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    groups = [("**overall**", report.overall), *report.categories.items()]
    for name, m in groups:
        cells = [name, f"{m.passed}/{m.questions}"]
        cells += [percent(getattr(m, key)) for key, _ in shown]
        cells += [millis(m.latency_p50_ms), millis(m.latency_p95_ms), percent(m.answer_first)]
        cells += [words(m.answer_words_median), percent(m.short_answers)]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [q for q in report.questions if not q.passed]
    if failed:
        lines += ["", f"### Failed questions ({len(failed)})", ""]
        lines += [f"- `{q.id}` ({q.category}): {'; '.join(q.reasons)}" for q in failed]
    return "\n".join(lines) + "\n"


def _chart(categories: dict[str, Metrics]) -> dict[str, Any]:
    """Geometry of the per-category bar chart: one group of horizontal bars per category."""
    bar, gap, label_width, plot_width = 15, 18, 170, 700
    group_height = bar * len(CHART_METRICS) + gap
    rows = []
    for index, (name, m) in enumerate(categories.items()):
        top = 40 + index * group_height
        bars = []
        for offset, ((key, label), colour) in enumerate(
            zip(CHART_METRICS, CHART_COLOURS, strict=True)
        ):
            value = getattr(m, key)
            bars.append(
                {
                    "y": top + offset * bar,
                    "width": round((value or 0) * plot_width, 1),
                    "colour": colour,
                    "value": "n/a" if value is None else percent(value),
                    "text": f"{label}: {percent(value)}",
                }
            )
        rows.append({"name": name, "y": top, "count": m.questions, "bars": bars})
    return {
        "rows": rows,
        "bar": bar,
        "label_width": label_width,
        "plot_width": plot_width,
        "height": 40 + len(rows) * group_height + 10,
        "legend": list(zip([label for _, label in CHART_METRICS], CHART_COLOURS, strict=True)),
        "ticks": [(t, label_width + t * plot_width / 100) for t in (0, 25, 50, 75, 100)],
    }


def render_html(report: Report) -> str:
    """One self-contained HTML page: no scripts, styles or fonts from elsewhere."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("service.evaluate", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["percent"] = percent
    env.filters["millis"] = millis
    columns = [(k, label) for k, label in COLUMNS if getattr(report.overall, k) is not None]
    return env.get_template("report.html.j2").render(
        report=report, columns=columns, chart=_chart(report.categories)
    )


def write_html(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
