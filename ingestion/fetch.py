"""Fetch web pages for `citechat sync` without becoming a way into the operator's network.

Only http(s) URLs whose host is on the allowlist are fetched; every redirect is followed by
hand and checked again. The address a host resolves to is checked when the connection is
made (so a DNS answer cannot change between check and use): private, loopback, link-local
and other non-global addresses are refused before any traffic unless their network is
explicitly allowed. Bodies are read as a stream and cut off past a size (after
decompression: a gzip bomb stops at the cap) or a time; robots.txt is honoured, requests
carry a configurable User-Agent and are spaced per host.
"""

import ipaddress
import socket
import ssl
import threading
import time
import urllib.robotparser
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A URL that could not be fetched; the message is the reason."""


class BadStatus(FetchError):
    """The server answered with a status other than 200, 304 or a redirect."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class Refused(FetchError):
    """A URL the policy forbids: scheme, host, address or robots.txt."""


@dataclass(frozen=True)
class FetchPolicy:
    """What sync may fetch and how (``Settings.fetch_policy``)."""

    allowed_hosts: frozenset[str]  # lower-case host names (or IP literals)
    allowed_networks: tuple[IPNetwork, ...]  # non-global networks allowed all the same
    user_agent: str
    delay_seconds: float  # between two requests to one host
    timeout_seconds: float  # for one response, headers and body
    max_bytes: int  # of one body, decompressed
    max_redirects: int


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int  # 200, or 304 when the validators given still hold
    body: bytes
    content_type: str  # media type, lower case, without parameters
    etag: str
    last_modified: str
    location: str = ""  # a redirect's target, as sent


def _too_slow(seconds: float) -> FetchError:
    return FetchError(f"took longer than {seconds:g} s (CITECHAT_SYNC_TIMEOUT_SECONDS)")


def check_url(url: str, policy: FetchPolicy) -> str:
    """Return ``url``'s host when the policy lets sync fetch it; raise :class:`Refused`."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as exc:
        raise Refused(f"malformed URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http(s) URLs are fetched, not {parts.scheme or 'a relative URL'!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("URL has no host")
    if parts.username or parts.password:
        raise Refused("URL carries credentials")
    if host not in policy.allowed_hosts:
        raise Refused(f"host {host!r} is not on the allowlist (CITECHAT_SYNC_ALLOWED_HOSTS)")
    return host


def check_address(address: IPAddress, networks: Iterable[IPNetwork]) -> None:
    """Raise :class:`Refused` for a non-global address outside ``networks``."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    plain = mapped or address
    if plain.is_global and not plain.is_multicast:
        return
    if any(plain in network for network in networks):
        return
    raise Refused(
        f"address {plain} is private, loopback, link-local or reserved "
        "(CITECHAT_SYNC_ALLOWED_NETWORKS allows a network)"
    )


def resolve(host: str, port: int, networks: Iterable[IPNetwork]) -> str:
    """The address to connect to for ``host``: every address it resolves to must pass
    :func:`check_address`, so a name that also points inside the network is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError(f"{host!r} has no address")
    allowed = tuple(networks)
    for address in addresses:
        check_address(address, allowed)
    return str(addresses[0])


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to addresses :func:`resolve` accepts, checked at connection time, and
    bounds every read and write by the deadline of the request in progress: a server that
    sends its headers a byte at a time is cut off too, not only a slow body."""

    def __init__(self, networks: tuple[IPNetwork, ...], seconds: float) -> None:
        self._inner = httpcore.SyncBackend()
        self._networks = networks
        self._seconds = seconds
        self.deadline = float("inf")  # time.monotonic() by which the current request ends

    def remaining(self, timeout: float | None) -> float:
        """``timeout`` shortened to the time left; raise :class:`FetchError` when none is."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _too_slow(self._seconds)
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = resolve(host, port, self._networks)
        stream = self._inner.connect_tcp(
            address, port, self.remaining(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise Refused("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the backend's current deadline."""

    def __init__(self, inner: httpcore.NetworkStream, backend: _CheckedBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(
            ssl_context, server_hostname, self._backend.remaining(timeout)
        )
        return _DeadlineStream(stream, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class Fetcher:
    """One sync run's HTTP client: policy checks, robots.txt, politeness and caps."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        transport = httpx.HTTPTransport(trust_env=False, retries=0)
        # httpx does not expose the connection pool's network backend: set it, so every
        # connection goes through the address check.
        self._backend = _CheckedBackend(policy.allowed_networks, policy.timeout_seconds)
        transport._pool._network_backend = self._backend
        self._client = httpx.Client(
            transport=transport,
            trust_env=False,  # no proxy from the environment: it would bypass the checks
            follow_redirects=False,
            headers={"User-Agent": policy.user_agent},
            timeout=httpx.Timeout(policy.timeout_seconds),
        )
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, url: str, etag: str = "", last_modified: str = "") -> Page:
        """GET ``url``, following redirects by hand; raise :class:`FetchError` saying why not.

        With ``etag`` or ``last_modified``, an unchanged page is a 304 :class:`Page` with no body.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: list[str] = []
        for _ in range(self.policy.max_redirects + 1):
            check_url(url, self.policy)
            if url in seen:
                raise FetchError(f"redirect loop back to {url}")
            seen.append(url)
            self._check_robots(url)
            page = self._get(url, headers)
            if page.status not in REDIRECTS:
                return page
            url = urljoin(url, page.location)
        raise FetchError(f"more than {self.policy.max_redirects} redirects")

    def _get(self, url: str, headers: dict[str, str]) -> Page:
        """One request, no redirect followed: a redirect's :class:`Page` holds its target."""
        self._wait_turn(urlsplit(url).netloc)
        deadline = time.monotonic() + self.policy.timeout_seconds
        self._backend.deadline = deadline
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code in REDIRECTS:
                    location = response.headers.get("Location", "")
                    if not location:
                        raise FetchError(f"HTTP {response.status_code} without a Location")
                    return Page(url, response.status_code, b"", "", "", "", location)
                if response.status_code == 304:
                    return Page(url, 304, b"", "", "", "")
                if response.status_code != 200:
                    raise BadStatus(response.status_code)
                body = self._read(response, deadline)
                media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                return Page(
                    url,
                    200,
                    body,
                    media,
                    response.headers.get("ETag", ""),
                    response.headers.get("Last-Modified", ""),
                )
        except httpx.TimeoutException as exc:
            raise _too_slow(self.policy.timeout_seconds) from exc
        except httpx.DecodingError as exc:
            raise FetchError(f"malformed compressed body: {exc}") from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        """The decompressed body, cut off past the size or time cap."""
        cap = self.policy.max_bytes
        declared = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        if declared.isdigit() and int(declared) > cap and not encoded:
            raise FetchError(f"larger than {cap} bytes (CITECHAT_SYNC_MAX_PAGE_BYTES)")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(
                    f"larger than {cap} bytes once decompressed (CITECHAT_SYNC_MAX_PAGE_BYTES)"
                )
            if time.monotonic() > deadline:
                raise _too_slow(self.policy.timeout_seconds)
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait_turn(self, netloc: str) -> None:
        """Space requests to one host by the policy's delay."""
        with self._lock:
            last = self._last_request.get(netloc)
            now = time.monotonic()
            if last is not None and now - last < self.policy.delay_seconds:
                time.sleep(self.policy.delay_seconds - (now - last))
            self._last_request[netloc] = time.monotonic()

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._load_robots(origin)
        robots = self._robots[origin]
        if robots is not None and not robots.can_fetch(self.policy.user_agent, url):
            raise Refused("disallowed by robots.txt")

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        """``origin``'s robots.txt, None when it has none (4xx: everything allowed); a server
        error or an unreachable file disallows everything (RFC 9309)."""
        parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
        try:
            page = self._get(f"{origin}/robots.txt", {})
        except Refused:
            raise  # the origin itself is refused: say why
        except FetchError as exc:
            if isinstance(exc, BadStatus) and 400 <= exc.status < 500:
                return None
            parser.parse(["User-agent: *", "Disallow: /"])
            return parser
        if page.status != 200:  # a redirect: not followed for robots.txt
            return None
        parser.parse(page.body.decode("utf-8", "replace").splitlines())
        return parser
