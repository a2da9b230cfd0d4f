"""docs/reference/ matches the code it is generated from (``make docs-ref`` rewrites it)."""

from pathlib import Path

import pytest

from service import reference_docs
from service.settings import Settings


def test_the_reference_pages_are_current() -> None:
    stale = [str(path) for path in reference_docs.stale_pages()]
    assert stale == [], "run `make docs-ref` and commit docs/reference/"


def test_every_setting_has_a_row_with_a_description() -> None:
    page = reference_docs.settings_page()
    for name, field in Settings.model_fields.items():
        assert f"| `CITECHAT_{name.upper()}` |" in page
        assert field.description, f"{name} needs Field(description=...)"


def test_the_check_fails_on_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference_docs, "REFERENCE_DIR", tmp_path)
    assert reference_docs.main([]) == 0 and reference_docs.main(["--check"]) == 0
    page = tmp_path / "settings.md"
    page.write_text(page.read_text().replace("`5`", "`6`"))
    assert reference_docs.main(["--check"]) == 1
