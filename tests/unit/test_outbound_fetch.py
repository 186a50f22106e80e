"""fetch_media and the address guard, against real servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from originlens.outbound.fetch import (
    FetchError,
    FetchTimeoutError,
    RemoteStatusError,
    TooLargeError,
    TooManyRedirectsError,
    fetch_media,
)
from originlens.outbound.guard import (
    AddressPolicy,
    BlockedAddressError,
    InvalidURLError,
    OutboundError,
    guarded_client,
    validate_url,
)

LOCAL = AddressPolicy(allowed_networks=("127.0.0.1/32",))
STRICT = AddressPolicy()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
HUGE_TOTAL = 64 * 1024 * 1024
CHUNK = 64 * 1024


@dataclass
class Site:
    base: str
    port: int
    paths: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    connections: int = 0
    huge_sent: int = 0
    huge_done: threading.Event = field(default_factory=threading.Event)


def _make_handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            site.paths.append(self.path)
            site.hosts.append(self.headers.get("host", ""))
            path = self.path
            if path.startswith("/img/"):
                self._send(200, PNG, Content_Type="image/png; charset=binary")
            elif path == "/cd":
                self._send(200, PNG, Content_Disposition='attachment; filename="holiday photo.png"')
            elif path == "/cd-star":
                self._send(200, PNG, Content_Disposition="attachment; filename*=UTF-8''caf%C3%A9%2F..%2Fx.png")
            elif path == "/":
                self._send(200, PNG)
            elif path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                target = "/img/final.png" if n == 0 else f"/redirect/{n - 1}"
                self._send(302, Location=target)
            elif path == "/to-ftp":
                self._send(302, Location="ftp://127.0.0.1/x.png")
            elif path == "/to-file":
                self._send(301, Location="file:///etc/passwd")
            elif path == "/to-private":
                self._send(307, Location="http://10.0.0.1/x.png")
            elif path == "/to-metadata":
                self._send(302, Location="http://169.254.169.254/latest/meta-data/")
            elif path == "/declared-big":
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 1024 * 1024))
                self.end_headers()
                self.wfile.write(b"x" * 1024)
            elif path == "/chunked-huge":
                self._stream_huge(chunked=True)
            elif path == "/close-delimited-huge":
                self._stream_huge(chunked=False)
            elif path == "/gzip-bomb":
                body = gzip.compress(b"\0" * (8 * 1024 * 1024))
                self._send(200, body, Content_Encoding="gzip")
            elif path == "/gzip-small":
                self._send(200, gzip.compress(PNG), Content_Encoding="gzip")
            elif path == "/slow-headers":
                time.sleep(3)
                self._send(200, PNG)
            elif path == "/drip":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                try:
                    for _ in range(200):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass
            else:
                self._send(404, b"not here")

        def _stream_huge(self, *, chunked: bool) -> None:
            self.send_response(200)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            block = b"y" * CHUNK
            try:
                while site.huge_sent < HUGE_TOTAL:
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                    else:
                        self.wfile.write(block)
                    site.huge_sent += len(block)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            finally:
                site.huge_done.set()

    return Handler


class _CountingServer(ThreadingHTTPServer):
    site: Site

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.site.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is expected here
            super().handle_error(request, client_address)


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site(base="", port=0)
    httpd = _CountingServer(("127.0.0.1", 0), _make_handler(site))
    httpd.daemon_threads = True
    httpd.site = site
    site.port = int(httpd.server_address[1])
    site.base = f"http://127.0.0.1:{site.port}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a TCP connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[str]], list[str]]:
    """Make a host name resolve to the given addresses; returns the list of looked-up names."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            lookups.append(host)
            out = []
            for ip in answers[host]:
                family = socket.AF_INET6 if ":" in ip else socket.AF_INET
                sockaddr: tuple[Any, ...] = (ip, int(port), 0, 0) if family == socket.AF_INET6 else (ip, int(port))
                out.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            return out
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def set_answer(host: str, ips: list[str]) -> list[str]:
        answers[host] = ips
        return lookups

    return set_answer


def fetch(url: str, policy: AddressPolicy = LOCAL, **kwargs: Any) -> Any:
    kwargs.setdefault("max_bytes", 1024 * 1024)
    kwargs.setdefault("timeout_s", 5.0)
    return fetch_media(url, policy=policy, **kwargs)


# --- happy paths -------------------------------------------------------------------------


def test_fetch_returns_bytes_filename_from_path_and_media_type(site: Site) -> None:
    media = fetch(f"{site.base}/img/photo%20one.png?size=big")
    assert media.data == PNG
    assert media.filename == "photo one.png"
    assert media.content_type == "image/png"
    assert media.final_url == f"{site.base}/img/photo%20one.png?size=big"


def test_filename_from_content_disposition(site: Site) -> None:
    assert fetch(f"{site.base}/cd").filename == "holiday photo.png"


def test_filename_from_rfc2231_content_disposition_is_sanitised(site: Site) -> None:
    assert fetch(f"{site.base}/cd-star").filename == "x.png"  # no path components survive


def test_filename_falls_back_when_path_is_empty(site: Site) -> None:
    media = fetch(f"{site.base}/")
    assert media.filename == "remote-file"
    assert media.content_type is None


def test_gzip_body_sent_anyway_is_inflated(site: Site) -> None:
    assert fetch(f"{site.base}/gzip-small").data == PNG


# --- redirects ---------------------------------------------------------------------------


def test_redirect_chain_within_limit_is_followed(site: Site) -> None:
    media = fetch(f"{site.base}/redirect/2", max_redirects=3)  # 3 redirects
    assert media.data == PNG
    assert media.final_url == f"{site.base}/img/final.png"
    assert media.filename == "final.png"
    assert site.paths == ["/redirect/2", "/redirect/1", "/redirect/0", "/img/final.png"]


def test_redirect_chain_beyond_limit_is_refused(site: Site) -> None:
    with pytest.raises(TooManyRedirectsError, match="redirected more than 3 times"):
        fetch(f"{site.base}/redirect/3", max_redirects=3)
    assert "/img/final.png" not in site.paths


@pytest.mark.parametrize("path", ["/to-ftp", "/to-file"])
def test_redirect_to_non_http_scheme_is_refused(site: Site, path: str) -> None:
    with pytest.raises(InvalidURLError, match="only http and https"):
        fetch(f"{site.base}{path}")


@pytest.mark.parametrize(("path", "address"), [("/to-private", "10.0.0.1"), ("/to-metadata", "169.254.169.254")])
def test_redirect_to_private_address_is_refused(site: Site, path: str, address: str) -> None:
    started = time.monotonic()
    with pytest.raises(BlockedAddressError) as info:
        fetch(f"{site.base}{path}")
    assert info.value.address == address
    assert time.monotonic() - started < 2


# --- address policy ----------------------------------------------------------------------


def test_loopback_is_blocked_unless_allowed_and_nothing_reaches_the_server(site: Site) -> None:
    with pytest.raises(BlockedAddressError, match=r"private or local address \(127\.0\.0\.1\)"):
        fetch(f"{site.base}/img/photo.png", policy=STRICT)
    assert site.connections == 0
    assert site.paths == []


@pytest.mark.usefixtures("no_connect")
@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://10.0.0.1/x.png", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]:8080/x.png", "::1"),
        ("http://0.0.0.0:8080/x.png", "0.0.0.0"),
        ("https://192.168.1.1/x.png", "192.168.1.1"),
        ("http://100.64.0.1/x.png", "100.64.0.1"),
        ("http://[::ffff:127.0.0.1]/x.png", "::ffff:7f00:1"),
        ("http://[fd00::1]/x.png", "fd00::1"),
        ("http://[fe80::1]/x.png", "fe80::1"),
        ("http://2130706433/x.png", "127.0.0.1"),  # integer spelling of 127.0.0.1
    ],
)
def test_literal_private_addresses_are_blocked_without_connecting(url: str, address: str) -> None:
    with pytest.raises(BlockedAddressError) as info:
        fetch(url, policy=STRICT)
    assert info.value.address == address
    assert "which this server does not connect to" in str(info.value)


def test_hostname_resolving_to_loopback_is_blocked_unless_allowed(site: Site) -> None:
    url = f"http://localhost:{site.port}/img/photo.png"
    with pytest.raises(BlockedAddressError, match=r"localhost resolves to a private or local address"):
        fetch(url, policy=STRICT)
    assert site.connections == 0
    allow_loopback = AddressPolicy(allowed_networks=("127.0.0.1/32", "::1/128"))
    assert fetch(url, policy=allow_loopback).data == PNG


def test_every_resolved_address_is_checked(
    site: Site, fake_dns: Callable[[str, list[str]], list[str]], no_connect: None
) -> None:
    fake_dns("mixed.test", ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(BlockedAddressError, match=r"mixed\.test resolves to .*\(10\.1\.2\.3\)"):
        fetch(f"http://mixed.test:{site.port}/img/x.png", policy=STRICT)


def test_connects_to_the_checked_ip_resolving_once(site: Site, fake_dns: Callable[[str, list[str]], list[str]]) -> None:
    """DNS rebinding: the name is resolved once per connection and the checked IP is dialled."""
    lookups = fake_dns("rebind.test", ["127.0.0.1"])
    media = fetch(f"http://rebind.test:{site.port}/img/x.png")
    assert media.data == PNG
    assert lookups == ["rebind.test"]
    assert site.hosts == [f"rebind.test:{site.port}"]  # the Host header keeps the name


def test_tls_sends_the_hostname_as_sni(fake_dns: Callable[[str, list[str]], list[str]]) -> None:
    """The TCP connection goes to the checked IP, but the TLS ClientHello names the host."""
    hello: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            hello.append(conn.recv(65536))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    fake_dns("sni.example.test", ["127.0.0.1"])
    try:
        with pytest.raises(FetchError):
            fetch(f"https://sni.example.test:{port}/x.png")
    finally:
        thread.join(5)
        listener.close()
    assert hello and hello[0][:1] == b"\x16"  # a TLS handshake record
    assert b"sni.example.test" in hello[0]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x.png", "file:///etc/passwd", "gopher://127.0.0.1/", "http:///nohost", "//example.com/x", ""],
)
def test_only_http_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(InvalidURLError):
        validate_url(url)
    with pytest.raises(InvalidURLError):
        fetch(url)


def test_validate_url_accepts_http_and_https() -> None:
    assert validate_url(" https://example.com/a.png ") == "https://example.com/a.png"
    assert validate_url("http://[2001:db8::1]:8080/x") == "http://[2001:db8::1]:8080/x"
    assert validate_url("https://example.com/my photo.png") == "https://example.com/my photo.png"  # httpx encodes it
    with pytest.raises(InvalidURLError, match="control characters"):
        validate_url("https://example.com/a\r\nX-Injected: 1")


def test_policy_rejects_malformed_networks() -> None:
    with pytest.raises(ValueError):
        AddressPolicy(allowed_networks=("not-a-cidr",))


def test_policy_classification() -> None:
    blocked = ["10.0.0.5", "172.31.0.1", "192.168.0.1", "127.0.0.2", "169.254.169.254", "100.64.1.1", "0.0.0.1"]
    blocked += ["224.0.0.1", "240.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "fc00::1", "ff02::1"]
    blocked += ["::ffff:10.0.0.5", "::ffff:169.254.169.254", "2002:a00:1::1", "64:ff9b::a9fe:a9fe"]
    for ip in blocked:
        assert not STRICT.is_allowed(ip), ip
        with pytest.raises(BlockedAddressError):
            STRICT.check(ip)
    for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101"]:
        assert STRICT.is_allowed(ip), ip
        STRICT.check(ip)
    assert LOCAL.is_allowed("127.0.0.1") and LOCAL.is_allowed("::ffff:127.0.0.1")
    assert not LOCAL.is_allowed("127.0.0.2")


def test_guarded_client_blocks_too() -> None:
    with guarded_client(STRICT, timeout=2) as client, pytest.raises(BlockedAddressError):
        client.get("http://127.0.0.1:9/")


# --- size caps ---------------------------------------------------------------------------


def test_declared_content_length_over_the_cap_is_refused_early(site: Site) -> None:
    with pytest.raises(TooLargeError, match="larger than the 1 MB limit") as info:
        fetch(f"{site.base}/declared-big", max_bytes=1024 * 1024)
    assert info.value.max_bytes == 1024 * 1024


@pytest.mark.parametrize("path", ["/chunked-huge", "/close-delimited-huge"])
def test_body_without_length_is_aborted_past_the_cap(site: Site, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(TooLargeError) as info:
        fetch(f"{site.base}{path}", max_bytes=256 * 1024)
    assert info.value.max_bytes == 256 * 1024
    assert site.huge_done.wait(10), "the server kept sending"
    assert site.huge_sent < HUGE_TOTAL // 2  # we hung up long before the end
    assert time.monotonic() - started < 10


def test_compressed_body_is_capped_after_inflating(site: Site) -> None:
    with pytest.raises(TooLargeError):
        fetch(f"{site.base}/gzip-bomb", max_bytes=1024 * 1024)


# --- statuses and time-outs --------------------------------------------------------------


def test_not_found_is_a_remote_status_error(site: Site) -> None:
    with pytest.raises(RemoteStatusError, match="HTTP 404") as info:
        fetch(f"{site.base}/nothing-here.png")
    assert info.value.status_code == 404


def test_server_slow_to_answer_times_out(site: Site) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match=r"within 0\.5 seconds"):
        fetch(f"{site.base}/slow-headers", timeout_s=0.5)
    assert time.monotonic() - started < 1.5


def test_dripping_server_hits_the_overall_deadline(site: Site) -> None:
    """Each byte arrives well within a read time-out; the overall deadline still ends it."""
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        fetch(f"{site.base}/drip", timeout_s=1.0)
    assert time.monotonic() - started < 1.6


def test_connection_refused_is_a_fetch_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens on it once closed
    with pytest.raises(FetchError, match="could not connect") as info:
        fetch(f"http://127.0.0.1:{port}/x.png")
    assert not isinstance(info.value, FetchTimeoutError)


def test_every_error_is_an_outbound_error() -> None:
    for cls in (FetchError, FetchTimeoutError, TooManyRedirectsError, RemoteStatusError, TooLargeError):
        assert issubclass(cls, OutboundError)
    assert issubclass(BlockedAddressError, OutboundError) and issubclass(InvalidURLError, OutboundError)
