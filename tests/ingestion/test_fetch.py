"""Safe fetching (ingestion/fetch.py) against a local site: the policy is checked before any
connection, hostile pages fail with their reason. No traffic leaves 127.0.0.1."""

import dataclasses
import ipaddress
from collections.abc import Iterator

import httpcore
import pytest

from ingestion.fetch import Fetcher, FetchError, FetchPolicy, Refused, check_address
from tests.sync_site import Site, article

LOOPBACK = ipaddress.ip_network("127.0.0.1/32")


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        served.pages["/news/a.html"] = ("text/html", article("A", "Some text."))
        served.pages["/private/p.html"] = ("text/html", article("P", "Hidden."))
        yield served


def policy(**changes: object) -> FetchPolicy:
    base = FetchPolicy(
        allowed_hosts=frozenset({"127.0.0.1"}),
        allowed_networks=(LOOPBACK,),
        user_agent="citechat-test",
        delay_seconds=0,
        timeout_seconds=2,
        max_bytes=1024 * 1024,
        max_redirects=5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The addresses the fetcher connects to (the real connection still happens)."""
    made: list[str] = []
    connect = httpcore.SyncBackend.connect_tcp

    def recorded(self: httpcore.SyncBackend, host: str, port: int, *args: object) -> object:
        made.append(host)
        return connect(self, host, port, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", recorded)
    return made


def fetch_error(site: Site, path: str, **changes: object) -> str:
    with Fetcher(policy(**changes)) as fetcher, pytest.raises(FetchError) as failure:
        fetcher.fetch(site.url(path))
    return str(failure.value)


def test_an_allowed_page_is_fetched_with_the_user_agent(site: Site) -> None:
    with Fetcher(policy()) as fetcher:
        page = fetcher.fetch(site.url("/news/a.html"))
        again = fetcher.fetch(site.url("/news/a.html"), etag=page.etag)
    assert page.status == 200 and b"Some text." in page.body and page.content_type == "text/html"
    assert again.status == 304 and again.body == b""


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/huge", "larger than 1048576 bytes"),
        ("/slow", "took longer than 1 s"),
        ("/slow-headers", "took longer than 1 s"),
        ("/bomb", "larger than 1048576 bytes once decompressed"),
        ("/bad-gzip", "malformed compressed body"),
        ("/loop-a", "redirect loop back to http://127.0.0.1"),
        ("/private/p.html", "disallowed by robots.txt"),
        ("/missing", "HTTP 404"),
    ],
)
def test_a_hostile_page_fails_with_its_reason(site: Site, path: str, reason: str) -> None:
    assert reason in fetch_error(site, path, timeout_seconds=1)


def test_a_host_off_the_allowlist_is_refused_before_connecting(
    site: Site, connections: list[str]
) -> None:
    reason = fetch_error(site, "/news/a.html", allowed_hosts=frozenset({"example.org"}))
    assert reason == "host '127.0.0.1' is not on the allowlist (CITECHAT_SYNC_ALLOWED_HOSTS)"
    assert connections == []


def test_only_http_urls_are_fetched() -> None:
    with Fetcher(policy()) as fetcher, pytest.raises(Refused, match="only http"):
        fetcher.fetch("file:///etc/passwd")


def test_a_redirect_to_a_private_address_is_refused_before_connecting_there(
    site: Site, connections: list[str]
) -> None:
    allowed = frozenset({"127.0.0.1", "10.0.0.1"})
    reason = fetch_error(site, "/to-private", allowed_hosts=allowed)
    assert reason.startswith("address 10.0.0.1 is private, loopback, link-local or reserved")
    assert connections and set(connections) == {"127.0.0.1"}


def test_a_redirect_off_the_allowlist_is_refused(site: Site, connections: list[str]) -> None:
    reason = fetch_error(site, "/to-private")
    assert reason == "host '10.0.0.1' is not on the allowlist (CITECHAT_SYNC_ALLOWED_HOSTS)"
    assert "10.0.0.1" not in connections


def test_loopback_is_refused_unless_its_network_is_allowed(
    site: Site, connections: list[str]
) -> None:
    reason = fetch_error(site, "/news/a.html", allowed_networks=())
    assert reason.startswith("address 127.0.0.1 is private")
    assert connections == []  # not even robots.txt was asked for
    assert site.requests == []


def test_a_name_is_checked_by_the_addresses_it_resolves_to(
    site: Site, connections: list[str]
) -> None:
    url = site.url("/news/a.html").replace("127.0.0.1", "localhost")
    with Fetcher(policy(allowed_hosts=frozenset({"localhost"}), allowed_networks=())) as fetcher:
        with pytest.raises(Refused, match="is private, loopback"):
            fetcher.fetch(url)
    assert connections == []


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "169.254.169.254", "192.168.1.1", "::1", "fe80::1", "::ffff:10.0.0.1"]
)
def test_non_global_addresses_are_refused(address: str) -> None:
    with pytest.raises(Refused):
        check_address(ipaddress.ip_address(address), [LOOPBACK])


def test_a_global_address_passes() -> None:
    check_address(ipaddress.ip_address("93.184.216.34"), [])
