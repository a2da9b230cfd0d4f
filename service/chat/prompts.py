"""Prompt templates: files in ``settings.prompts_dir`` with ``$name`` placeholders.

Each template must use exactly the variables its spec lists (:data:`PROMPTS` for the chat);
this is checked when the templates load (at start-up), so a typo fails fast instead of reaching
the model.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ingestion.errors import AppError

PROMPTS: dict[str, frozenset[str]] = {
    "system": frozenset({"today"}),
    "answer": frozenset({"passages", "question", "scope"}),
    "condense": frozenset({"history", "question"}),
}


class PromptError(AppError):
    """A prompt template is missing or does not use the variables it must."""

    code = "prompt_error"
    status_code = 500


@dataclass(frozen=True)
class Prompts:
    templates: dict[str, Template]

    @classmethod
    def load(cls, directory: Path, spec: Mapping[str, frozenset[str]] = PROMPTS) -> "Prompts":
        """Read ``<name>.md`` for each prompt of ``spec``; check it uses exactly its variables."""
        templates = {}
        for name, expected in spec.items():
            path = directory / f"{name}.md"
            try:
                template = Template(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise PromptError(f"prompt {path}: cannot read it: {exc}") from exc
            if not template.is_valid():
                raise PromptError(f"prompt {path}: invalid placeholder (write $$ for a $)")
            found = set(template.get_identifiers())
            if found != expected:
                problems = [f"missing ${v}" for v in sorted(expected - found)]
                problems += [f"unknown ${v}" for v in sorted(found - expected)]
                raise PromptError(f"prompt {path}: {', '.join(problems)}")
            templates[name] = template
        return cls(templates)

    def render(self, name: str, **values: str) -> str:
        """The template ``name`` with its variables filled in (all of them are required)."""
        return self.templates[name].substitute(values)
