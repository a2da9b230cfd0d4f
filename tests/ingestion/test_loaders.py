import os
from pathlib import Path
from typing import Any

import pytest
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

from ingestion.loaders import (
    FileLimits,
    LoadedDocument,
    LoadError,
    check_document_id,
    discover,
    load_document,
    shown,
)
from ingestion.settings import IndexSettings
from tests.helpers import built_pdf, minimal_pdf

MAX_BYTES = 1_000_000
BIG_STREAM = built_pdf(["ab"], repeat=1_000_000)

ARTICLE_HTML = """<!doctype html><html><head><title>Site | Kenya police land in Haiti</title>
<meta property="og:title" content="Kenya police land in Haiti">
<meta property="article:published_time" content="2024-06-25T10:00:00Z">
<link rel="canonical" href="https://example.org/news/kenya-police-haiti">
</head><body><nav>Home | World | Sport</nav><article><h1>Kenya police land in Haiti</h1>
<p>The first contingent of 400 Kenyan police officers arrived in Port-au-Prince on Tuesday,
opening the multinational mission after months of delay.</p>
<p>Officials said more officers from other countries would follow in the coming weeks.</p>
</article><footer>Copyright 2024 Example News</footer></body></html>"""


def limits(**overrides: Any) -> FileLimits:
    """The default limits, with ``IndexSettings`` fields overridden."""
    values: dict[str, Any] = {"max_file_bytes": MAX_BYTES} | overrides
    return IndexSettings(_env_file=None, **values).file_limits


def load(path: Path, root: Path, **overrides: Any) -> LoadedDocument:
    return load_document(path, path.relative_to(root).as_posix(), limits(**overrides))


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
    doc = load(path, tmp_path)
    assert doc.document_id == "news/a.md"
    assert (doc.title, doc.source, doc.published) == (
        "Funding ends",
        "https://example.org/a",
        "2025-05-23",
    )
    assert doc.text == "The United States said it would withhold further funding."


def test_date_falls_back_to_file_name_then_empty(tmp_path: Path) -> None:
    dated = load(write(tmp_path / "2024-03-01-note.txt", "Plain text."), tmp_path)
    undated = load(write(tmp_path / "note.txt", "Plain text."), tmp_path)
    assert (dated.published, dated.title) == ("2024-03-01", "2024-03-01-note")
    assert undated.published == ""


def test_html_main_text_and_meta_tags(tmp_path: Path) -> None:
    doc = load(write(tmp_path / "page.html", ARTICLE_HTML), tmp_path)
    assert doc.title == "Kenya police land in Haiti"
    assert doc.source == "https://example.org/news/kenya-police-haiti"
    assert doc.published == "2024-06-25"
    assert "400 Kenyan police officers" in doc.text
    assert "Copyright" not in doc.text and "Sport" not in doc.text


def test_pdf_text_layer(tmp_path: Path) -> None:
    doc = load(write(tmp_path / "r.pdf", minimal_pdf("Haiti mission report")), tmp_path)
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
        load(write(tmp_path / name, content), tmp_path)


def test_discover_recurses_and_keeps_supported_files(tmp_path: Path) -> None:
    for name in ["a.md", "sub/b.html", "sub/deep/c.pdf", "sub/d.txt", "e.png", "f.json"]:
        write(tmp_path / name, "x")
    found = discover(tmp_path)
    assert [f.document_id for f in found.files] == [
        "a.md",
        "sub/b.html",
        "sub/d.txt",
        "sub/deep/c.pdf",
    ]
    assert found.failed == []
    single = discover(tmp_path / "sub" / "d.txt")
    assert [(f.path, f.document_id) for f in single.files] == [
        (tmp_path / "sub" / "d.txt", "d.txt")
    ]
    with pytest.raises(FileNotFoundError):
        discover(tmp_path / "missing")


BOMB = (
    "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    + "title: *h\n---\nBody.\n"
)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bomb.md", BOMB, "malformed front matter: aliases (*name) are not allowed"),
        ("deep.md", f"---\nt: {'[' * 2000}{']' * 2000}\n---\nb\n", "nested more than 20 levels"),
        ("deeper.md", f"---\nt: {'[' * 30000}{']' * 30000}\n---\nb\n", "nested more than 20"),
        ("huge.md", f"---\nt: {'x' * 70000}\n---\nb\n", "longer than 65536 characters"),
        ("open.md", "---\ntitle: never closed\nbody\n", "no closing '---' line"),
        ("list.md", "---\ntitle: [a, b]\n---\nbody\n", "'title' must be text, got list"),
        ("map.md", "---\ntitle: {a: 1}\n---\nbody\n", "'title' must be text, got dict"),
        ("num.md", "---\ntitle: 1984\n---\nbody\n", "'title' must be text, got int"),
        ("src.md", "---\nsource: [x]\n---\nbody\n", "'source' must be text, got list"),
        ("date.md", "---\npublished: [2025]\n---\nbody\n", "'published' must be a date"),
    ],
)
def test_hostile_or_odd_front_matter_fails_fast_with_a_reason(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    with pytest.raises(LoadError) as caught:
        load(write(tmp_path / name, content), tmp_path)
    assert reason in str(caught.value)


def test_files_over_the_size_limit_fail_before_being_read(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "word " * 1000)
    with pytest.raises(LoadError, match="file too large: 5000 bytes, at most 4999"):
        load(path, tmp_path, max_file_bytes=4999)
    assert load(path, tmp_path, max_file_bytes=5000).text.startswith("word")


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    with pytest.raises(LoadError, match="not a regular file"):
        load(tmp_path / "pipe.md", tmp_path)


def test_titles_and_sources_are_one_line_without_bidi_controls(tmp_path: Path) -> None:
    content = '---\ntitle: "Real\\u202e txet\\nFake line\\x1b[31m"\nsource: " https://a.org/\\n"\n---\nb\n'
    doc = load(write(tmp_path / "a.md", content), tmp_path)
    assert doc.title == "Real txet Fake line [31m"
    assert doc.source == "https://a.org/"


def test_html_inside_markdown_is_stripped_but_its_text_and_autolinks_stay(
    tmp_path: Path,
) -> None:
    content = (
        "# Report\n\nPolice <b>arrived</b> on <a href='https://x.org'>Tuesday</a>."
        "<script>alert('owned')</script><!-- editor's note -->\n"
        "Line<br>break. Details: <https://example.org/report>. Rule: 1 < 2.\n"
    )
    doc = load(write(tmp_path / "a.md", content), tmp_path)
    assert doc.text == (
        "# Report\n\nPolice arrived on Tuesday.\n"
        "Line\nbreak. Details: <https://example.org/report>. Rule: 1 < 2."
    )
    plain = load(write(tmp_path / "a.txt", "Text about <b> tags."), tmp_path)
    assert plain.text == "Text about <b> tags."


def test_discover_reports_links_leaving_the_folder_loops_and_dangling_links(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "a.md", "A")
    write(tmp_path / "secret.md", "outside")
    write(tmp_path / "elsewhere" / "b.md", "B")
    (corpus / "inside.md").symlink_to(corpus / "a.md")
    (corpus / "outside.md").symlink_to(tmp_path / "secret.md")
    (corpus / "hostname.txt").symlink_to("/etc/hostname")
    (corpus / "loop.md").symlink_to(corpus / "loop.md")
    (corpus / "dangling.md").symlink_to(corpus / "nowhere.md")
    (corpus / "folder").symlink_to(tmp_path / "elsewhere")
    found = discover(corpus)
    assert [f.document_id for f in found.files] == ["a.md", "inside.md"]
    reasons = {Path(shown_path).name: reason for shown_path, reason in found.failed}
    assert reasons == {
        "dangling.md": "dangling link: its target does not exist",
        "folder": "link to a folder: not followed",
        "hostname.txt": f"link to a file outside {corpus}: not followed",
        "loop.md": "link not followed: Too many levels of symbolic links",
        "outside.md": f"link to a file outside {corpus}: not followed",
    }


def test_discover_refuses_names_that_could_spoof_a_listing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "ok.md", "fine")
    for name in ["bidi-\u202egnp.md", "ctrl-\x1b[31mred.md", "new\nline.md"]:
        write(corpus / name, "text")
    write(Path(os.fsdecode(bytes(corpus) + b"/bad-\xff.md")), "text")
    found = discover(corpus)
    assert [f.document_id for f in found.files] == ["ok.md"]
    assert sorted(found.failed) == [
        (f"{corpus}/bad-\\xff.md", "file name is not valid UTF-8"),
        (
            f"{corpus}/bidi-\\u202egnp.md",
            "name has control, zero-width, bidi or undecodable characters",
        ),
        (
            f"{corpus}/ctrl-\\x1b[31mred.md",
            "name has control, zero-width, bidi or undecodable characters",
        ),
        (f"{corpus}/new\\nline.md", "name has control, zero-width, bidi or undecodable characters"),
    ]


def test_discover_reports_folders_too_deep_to_read(tmp_path: Path) -> None:
    write(tmp_path / "ok.md", "fine")
    folder = os.open(tmp_path, os.O_RDONLY)
    for _ in range(22):  # 22 x 201 characters: past PATH_MAX (4096)
        os.mkdir("d" * 200, dir_fd=folder)
        inner = os.open("d" * 200, os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(os.open("deep.md", os.O_CREAT | os.O_WRONLY, dir_fd=folder))
    os.close(folder)
    found = discover(tmp_path)
    assert [f.document_id for f in found.files] == ["ok.md"]
    assert len(found.failed) == 1
    assert found.failed[0][1] == "folder not read: File name too long"
    assert len(found.failed[0][0]) == 303  # shortened for display
    assert len(found.unlisted) == 1


def test_shown_escapes_and_shortens() -> None:
    assert shown("a\u2067b\x07c") == "a\\u2067b\\x07c"
    assert shown(Path(os.fsdecode(b"x\xfe"))) == "x\\xfe"
    assert shown("x" * 1000) == "x" * 150 + "..." + "x" * 150


def test_ids_are_nfc_and_refused_with_invisible_characters(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    names = ["look.md", "look\u200b.md", "look\u2060.md", "\ufefflook.md", "cafe\u0301.md"]
    for name in names:
        write(corpus / name, "text")
    found = discover(corpus)
    assert [f.document_id for f in found.files] == ["caf\u00e9.md", "look.md"]
    reason = "name has control, zero-width, bidi or undecodable characters"
    assert sorted(found.failed) == sorted(
        (f"{corpus}/{name.encode('unicode_escape').decode()}", reason) for name in names[1:4]
    )
    assert check_document_id("sub/cafe\u0301.md") == "sub/caf\u00e9.md"
    for document_id in ["a\u200bb.md", "a\u200db.md", "a\u00adb.md", "a\U000e0041.md"]:
        with pytest.raises(LoadError, match="zero-width"):
            check_document_id(document_id)


@pytest.mark.parametrize(
    "title",
    [NumberObject(42), DictionaryObject({NameObject("/A"): NumberObject(1)}), ArrayObject()],
)
def test_a_pdf_title_that_is_not_text_is_ignored(tmp_path: Path, title: PdfObject) -> None:
    doc = load(write(tmp_path / "report.pdf", built_pdf(["Census"], title=title)), tmp_path)
    assert doc.title == "report"
    named = built_pdf(["Census"], title=TextStringObject("Harbour census"))
    assert load(write(tmp_path / "named.pdf", named), tmp_path).title == "Harbour census"


@pytest.mark.parametrize(
    ("pdf", "overrides", "reason"),
    [
        # the 3 KB file whose page tree reaches one page 40,000 times: refused before reading
        (built_pdf(["Page"], fanout=200, depth=2), {}, "more than 2000 pages"),
        (built_pdf(["Page"], fanout=30, depth=2), {}, "repeats pages: 900 pages, 1 distinct"),
        (built_pdf(["One", "Two", "Three"]), {"max_pdf_pages": 2}, "more than 2 pages"),
        (
            built_pdf(["First page", "Second"]),
            {"max_text_chars": 12},
            "characters of text by page 2",
        ),
        # 12 KB whose text layer takes seconds and hundreds of MB to read
        (BIG_STREAM, {"max_parse_seconds": 1}, r"not read in 1 s \(CITECHAT_MAX_PARSE_SECONDS"),
        (
            BIG_STREAM,
            {"max_parse_memory_bytes": 256 * 1024**2},
            r"more than 268435456 bytes of memory \(CITECHAT_MAX_PARSE_MEMORY_BYTES",
        ),
    ],
)
def test_pdfs_are_bounded_by_what_they_expand_to(
    tmp_path: Path, pdf: bytes, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(LoadError, match=reason):
        load(write(tmp_path / "bomb.pdf", pdf), tmp_path, **overrides)


def test_title_source_and_text_have_length_limits(tmp_path: Path) -> None:
    content = f"---\ntitle: {'T' * 11}\nsource: https://a.org/{'s' * 20}\n---\nBody text.\n"
    path = write(tmp_path / "a.md", content)
    with pytest.raises(LoadError, match="title: at most 10 characters allowed, got 11"):
        load(path, tmp_path, max_title_chars=10)
    with pytest.raises(LoadError, match="source: at most 20 characters allowed, got 34"):
        load(path, tmp_path, max_source_chars=20)
    with pytest.raises(LoadError, match="text: at most 5 characters allowed, got 10"):
        load(path, tmp_path, max_text_chars=5)
    assert load(path, tmp_path, max_title_chars=11, max_source_chars=34).title == "T" * 11
