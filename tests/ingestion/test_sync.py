"""`citechat sync` against a local news site: a feed, a sitemap index with a news sitemap and
single URLs, served on 127.0.0.1 (tests/sync_site.py); real model, real Chroma on disk."""

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestion import sync
from ingestion.embeddings import Embedder
from ingestion.store import StoredDocument
from ingestion.sync import SourcesError, document_id_for, load_sources
from service.cli import app
from service.wiring import open_store
from tests.helpers import make_settings, run_upload
from tests.sync_site import Site, article, gzip_bomb

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Daily</title>
<item><title>A</title><link>{a}</link><pubDate>Mon, 02 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>B</title><link>{b}</link><pubDate>Tue, 03 Nov 2026 08:00:00 GMT</pubDate></item>
</channel></rss>"""
INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{news}</loc></sitemap></sitemapindex>"""
URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>"""
NEWS_URL = """<url><loc>{loc}</loc>{lastmod}<news:news><news:publication>
<news:name>Daily</news:name><news:language>en</news:language></news:publication>
<news:publication_date>{date}</news:publication_date><news:title>T</news:title></news:news></url>"""

Run = Callable[[], tuple[int, str, str]]


def sitemap(site: Site, *pages: tuple[str, str], lastmod: str = "") -> bytes:
    """A news sitemap of ``(path, publication date)``; ``lastmod`` given for every page."""
    tag = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    urls = "".join(
        NEWS_URL.format(loc=site.url(path), date=date, lastmod=tag) for path, date in pages
    )
    return URLSET.format(urls=urls).encode()


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        pages = served.pages
        pages["/feed.xml"] = (
            "application/rss+xml",
            RSS.format(a=served.url("/news/a.html"), b="/news/b.html").encode(),  # b: relative
        )
        pages["/sitemap.xml"] = (
            "application/xml",
            INDEX.format(news=served.url("/sitemap-news.xml")).encode(),
        )
        pages["/sitemap-news.xml"] = (
            "application/xml",
            sitemap(
                served,
                ("/news/c.html", "2026-11-04T09:00:00Z"),
                ("/news/d.html", ""),
                lastmod="2026-11-05",
            ),
        )
        pages["/news/a.html"] = (
            "text/html",
            article(
                "Port reopens",
                "The harbour of Saint-Marc reopened on Sunday after three weeks of repairs.",
                canonical=served.url("/news/a"),
                published="2026-11-01",
            ),
        )
        pages["/news/b.html"] = (
            "text/html",
            article("Rain", "Heavy rain closed the mountain road to Kenscoff for two days."),
        )
        pages["/news/c.html"] = (
            "text/html",
            article("Budget", "The council voted a budget of 40 million gourdes for schools."),
        )
        pages["/news/d.html"] = (
            "text/html",
            article("Market", "The iron market will open at night.", published="2026-11-05"),
        )
        pages["/news/e.html"] = (
            "text/html",
            article("Ferry", "A new ferry links Jérémie to Port-au-Prince twice a week."),
        )
        served.no_etag.add("/news/c.html")  # unchanged by its body's hash, not a 304
        yield served


@pytest.fixture
def sources(tmp_path: Path, site: Site) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[[source]]
name = "feed"
feed = "{site.url("/feed.xml")}"

[[source]]
name = "site"
sitemap = "{site.url("/sitemap.xml")}"
prune = true

[[source]]
name = "pages"
urls = ["{site.url("/news/e.html")}"]
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def env(tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    values = {
        "DATA_DIR": str(tmp_path / "data"),
        "SYNC_SOURCES": str(sources),
        "SYNC_ALLOWED_NETWORKS": "127.0.0.1/32",
        "SYNC_DELAY_SECONDS": "0",
        "SYNC_TIMEOUT_SECONDS": "1",
        "SYNC_MAX_PAGE_BYTES": str(1024 * 1024),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"CITECHAT_{name}", value)
    return tmp_path / "data"


@pytest.fixture
def run(embedder: Embedder, env: Path) -> Run:
    def run() -> tuple[int, str, str]:
        result = CliRunner().invoke(app, ["sync"], obj=embedder)
        return result.exit_code, result.stdout, result.stderr

    return run


def stored(data_dir: Path, embedder: Embedder) -> dict[str, StoredDocument]:
    return open_store(make_settings(data_dir), embedder.name).documents()


def test_sync_stores_dated_articles_then_embeds_nothing_then_replaces_and_prunes(
    site: Site, run: Run, env: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "PAGES_PER_WRITE", 1)  # each page stored on its own, then pruned
    code, out, err = run()
    assert (code, err) == (0, "")
    assert "feed: 2 listed: 2 new" in out and "site: 2 listed: 2 new" in out
    host = f"127.0.0.1:{site.port}"
    docs = stored(env, embedder)
    assert {d: (docs[d].source, docs[d].published, docs[d].title) for d in docs} == {
        f"{host}/news/a": (site.url("/news/a"), "2026-11-01", "Port reopens"),  # canonical
        f"{host}/news/b.html": (site.url("/news/b.html"), "2026-11-03", "Rain"),  # feed's date
        f"{host}/news/c.html": (site.url("/news/c.html"), "2026-11-04", "Budget"),  # sitemap's
        f"{host}/news/d.html": (site.url("/news/d.html"), "2026-11-05", "Market"),  # page's
        f"{host}/news/e.html": (site.url("/news/e.html"), "", "Ferry"),
    }
    assert {(d.origin, d.folder) for d in docs.values()} >= {("sync", "feed"), ("sync", "site")}

    code, out, _ = run()
    assert code == 0 and out.count("0 chunks embedded") == 3
    assert "feed: 2 listed: 0 new, 0 changed, 2 unchanged" in out
    assert "site: 2 listed: 0 new, 0 changed, 2 unchanged" in out
    assert site.requests.count("/news/c.html") == 1  # its <lastmod> held: not asked again

    site.pages["/news/c.html"] = ("text/html", article("Budget", "The council cut the budget."))
    site.pages["/sitemap-news.xml"] = (
        "application/xml",
        sitemap(site, ("/news/c.html", ""), lastmod="2026-11-06"),
    )
    site.pages["/feed.xml"] = ("application/rss+xml", b"<rss version='2.0'><channel/></rss>")
    code, out, _ = run()
    assert code == 0
    assert "site: 1 listed: 0 new, 1 changed, 0 unchanged, 0 failed, 1 pruned" in out
    docs = stored(env, embedder)
    assert f"{host}/news/d.html" not in docs  # gone from the sitemap of a prune = true source
    assert f"{host}/news/b.html" in docs  # gone from the feed, which does not prune
    texts = open_store(make_settings(env), embedder.name).document_texts()
    assert "cut the budget" in texts[f"{host}/news/c.html"]
    assert len(docs[f"{host}/news/c.html"].hashes) == 1  # the old version is gone


def test_each_hostile_page_fails_alone_with_its_reason(
    site: Site, sources: Path, run: Run, env: Path, embedder: Embedder
) -> None:
    site.pages["/garbage.html"] = ("text/html", b"\x00\xff\xfe binary")
    site.pages["/feed.xml"] = ("application/rss+xml", b"<<<not a feed")
    paths = ["/huge", "/slow", "/bomb", "/bad-gzip", "/loop-a", "/garbage.html", "/news/e.html"]
    urls = ", ".join(f'"{site.url(p)}"' for p in paths)
    sources.write_text(
        sources.read_text().replace(f'urls = ["{site.url("/news/e.html")}"]', f"urls = [{urls}]")
    )
    code, out, err = run()
    assert code == 1
    assert "pages: 7 listed: 1 new, 0 changed, 0 unchanged, 6 failed" in out
    assert "site: 2 listed: 2 new" in out  # the other sources ran
    for path, reason in [
        ("/huge", "larger than 1048576 bytes"),
        ("/slow", "took longer than 1 s"),
        ("/bomb", "larger than 1048576 bytes once decompressed"),
        ("/bad-gzip", "malformed compressed body"),
        ("/loop-a", "redirect loop"),
        ("/garbage.html", "binary content"),
    ]:
        assert f"failed: {site.url(path)}: {reason}" in err
    assert "failed: source feed: listing not read: not a feed" in err
    assert f"127.0.0.1:{site.port}/news/e.html" in stored(env, embedder)


def test_a_page_whose_id_an_upload_holds_is_left_alone(
    site: Site, run: Run, env: Path, embedder: Embedder
) -> None:
    held = f"127.0.0.1:{site.port}/news/e.html"
    run_upload(make_settings(env), embedder, held, article("Hand", "Uploaded.").decode())
    code, _, err = run()
    assert code == 1
    assert f"failed: {site.url('/news/e.html')}: id '{held}' is held by an upload" in err
    assert stored(env, embedder)[held].origin == "upload"


def test_sources_file_errors_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[source]]\nname = "x"\nfeed = "http://a/f"\nsitemap = "http://a/s"\n')
    with pytest.raises(SourcesError, match="one of feed, sitemap or urls"):
        load_sources(path)


@pytest.mark.parametrize(
    ("url", "document_id"),
    [
        ("https://Example.org/news/a", "example.org/news/a"),
        ("https://example.org/news//a/", "example.org/news/a"),
        ("https://example.org/a/../b?p=2", "example.org/b?p=2"),
        ("https://example.org/", "example.org"),
    ],
)
def test_document_ids_come_from_urls(url: str, document_id: str) -> None:
    assert document_id_for(url) == document_id


def test_the_page_cap_ends_a_run_and_names_the_pages_not_fetched(
    site: Site, run: Run, env: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITECHAT_SYNC_MAX_PAGES", "3")
    code, out, err = run()
    assert code == 1
    assert "feed: 2 listed: 2 new" in out and "site: 2 listed: 1 new" in out
    cap = "not fetched: the run reached its cap (CITECHAT_SYNC_MAX_PAGES)"
    assert f"failed: {site.url('/news/d.html')}: {cap}" in err
    assert f"failed: {site.url('/news/e.html')}: {cap}" in err
    assert "/news/d.html" not in site.requests and len(stored(env, embedder)) == 3


def test_a_gzipped_sitemap_is_read_and_a_gzip_bomb_sitemap_fails_its_source(
    site: Site, run: Run, env: Path, embedder: Embedder
) -> None:
    news = site.pages["/sitemap-news.xml"][1]
    site.pages["/sitemap.xml"] = ("application/gzip", gzip.compress(news))
    code, out, err = run()
    assert (code, err) == (0, "") and "site: 2 listed: 2 new" in out
    site.pages["/sitemap.xml"] = ("application/gzip", gzip_bomb())
    code, out, err = run()
    assert code == 1
    assert f"source site: listing not read: sitemap {site.url('/sitemap.xml')}: larger than" in err


def test_a_sitemap_index_cannot_make_a_source_read_without_end(
    site: Site, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "MAX_SITEMAPS", 2)
    children = "".join(f"<sitemap><loc>{site.url(f'/s{n}.xml')}</loc></sitemap>" for n in range(5))
    site.pages["/sitemap.xml"] = (
        "application/xml",
        INDEX.replace("<sitemap><loc>{news}</loc></sitemap>", children).encode(),
    )
    for n in range(5):
        site.pages[f"/s{n}.xml"] = site.pages["/sitemap-news.xml"]
    code, _, err = run()
    assert code == 1
    reason = f"sitemap {site.url('/s1.xml')}: more than 2 sitemaps in one source"
    assert f"failed: source site: listing not read: {reason}" in err
    assert "/s2.xml" not in site.requests


def test_a_source_stores_into_its_collection(
    site: Site, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "collections.toml"
    path.write_text(
        f'[[source]]\nname = "ferry"\nurls = ["{site.url("/news/e.html")}"]\n'
        'collection = "ports"\n\n'
        f'[[source]]\nname = "rain"\nurls = ["{site.url("/news/b.html")}"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CITECHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITECHAT_SYNC_SOURCES", str(path))
    monkeypatch.setenv("CITECHAT_SYNC_ALLOWED_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("CITECHAT_SYNC_DELAY_SECONDS", "0")
    result = CliRunner().invoke(app, ["sync"], obj=embedder)
    assert (result.exit_code, result.stderr) == (0, "")
    settings = make_settings(tmp_path / "data")
    host = f"127.0.0.1:{site.port}"
    ports = open_store(settings, embedder.name, "ports", create=False).documents()
    assert list(ports) == [f"{host}/news/e.html"]
    assert list(open_store(settings, embedder.name).documents()) == [f"{host}/news/b.html"]


def test_a_source_collection_must_be_a_name(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[source]]\nname = "x"\nfeed = "http://a/f"\ncollection = "No Way"\n')
    with pytest.raises(SourcesError, match="source 1: collection: 'No Way' is not a collection"):
        load_sources(path)
