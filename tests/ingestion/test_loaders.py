from pathlib import Path

import pytest

from ingestion.loaders import LoadError, discover, load_document

ARTICLE_HTML = """<!doctype html><html><head><title>Site | Kenya police land in Haiti</title>
<meta property="og:title" content="Kenya police land in Haiti">
<meta property="article:published_time" content="2024-06-25T10:00:00Z">
<link rel="canonical" href="https://example.org/news/kenya-police-haiti">
</head><body><nav>Home | World | Sport</nav><article><h1>Kenya police land in Haiti</h1>
<p>The first contingent of 400 Kenyan police officers arrived in Port-au-Prince on Tuesday,
opening the multinational mission after months of delay.</p>
<p>Officials said more officers from other countries would follow in the coming weeks.</p>
</article><footer>Copyright 2024 Example News</footer></body></html>"""


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer is ``text`` (ASCII)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_markdown_front_matter_gives_metadata_and_relative_id(tmp_path: Path) -> None:
    path = write(
        tmp_path / "news" / "a.md",
        "---\ntitle: Funding ends\nsource: https://example.org/a\npublished: 2025-05-23\n---\n"
        "The United States said it would withhold further funding.\n",
    )
    doc = load_document(path, tmp_path)
    assert doc.document_id == "news/a.md"
    assert (doc.title, doc.source, doc.published) == (
        "Funding ends",
        "https://example.org/a",
        "2025-05-23",
    )
    assert doc.text == "The United States said it would withhold further funding."


def test_date_falls_back_to_file_name_then_empty(tmp_path: Path) -> None:
    dated = load_document(write(tmp_path / "2024-03-01-note.txt", "Plain text."), tmp_path)
    undated = load_document(write(tmp_path / "note.txt", "Plain text."), tmp_path)
    assert (dated.published, dated.title) == ("2024-03-01", "2024-03-01-note")
    assert undated.published == ""


def test_html_main_text_and_meta_tags(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "page.html", ARTICLE_HTML), tmp_path)
    assert doc.title == "Kenya police land in Haiti"
    assert doc.source == "https://example.org/news/kenya-police-haiti"
    assert doc.published == "2024-06-25"
    assert "400 Kenyan police officers" in doc.text
    assert "Copyright" not in doc.text and "Sport" not in doc.text


def test_pdf_text_layer(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "r.pdf", minimal_pdf("Haiti mission report")), tmp_path)
    assert "Haiti mission report" in doc.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", "", "no text"),
        ("blank.md", "---\ntitle: only metadata\n---\n   \n", "no text"),
        ("binary.txt", b"\x00\x01\x02binary", "binary"),
        ("latin1.txt", b"caf\xe9 \xff", "not UTF-8"),
        ("fm.md", "---\ntitle: [unclosed\n---\nbody\n", "malformed front matter"),
        ("list.md", "---\n- a\n- b\n---\nbody\n", "malformed front matter"),
        ("feb30.md", "---\npublished: 2025-02-30\n---\nbody\n", "impossible date"),
        ("word.md", "---\npublished: someday\n---\nbody\n", "impossible date"),
        ("broken.pdf", b"%PDF-1.4 truncated", "unreadable PDF"),
    ],
)
def test_bad_files_raise_load_error_with_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    with pytest.raises(LoadError, match=reason):
        load_document(write(tmp_path / name, content), tmp_path)


def test_discover_recurses_and_keeps_supported_files(tmp_path: Path) -> None:
    for name in ["a.md", "sub/b.html", "sub/deep/c.pdf", "sub/d.txt", "e.png", "f.json"]:
        write(tmp_path / name, "x")
    found = [f.relative_to(root).as_posix() for f, root in discover([tmp_path])]
    assert found == ["a.md", "sub/b.html", "sub/d.txt", "sub/deep/c.pdf"]
    single = discover([tmp_path / "sub" / "d.txt"])
    assert [(f.name, root) for f, root in single] == [("d.txt", tmp_path / "sub")]
    with pytest.raises(FileNotFoundError):
        discover([tmp_path / "missing"])
