"""The outbound guard: which addresses Nebulo may call, checked after DNS and on every hop."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core import outbound
from core.config import load_settings
from tests.connectors.fakes import Bystander, NotHttp

REFUSED_UNLESS_ALLOWED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.1.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
]
CLOUD_METADATA = ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200"]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"]


@pytest.mark.parametrize("address", REFUSED_UNLESS_ALLOWED)
def test_non_public_addresses_are_refused_unless_allowed(address):
    ip = ipaddress.ip_address(address)
    assert "not a public" in outbound.refusal_reason(ip, allow_private=False)
    assert outbound.refusal_reason(ip, allow_private=True) is None


@pytest.mark.parametrize("address", CLOUD_METADATA)
def test_cloud_metadata_addresses_are_refused_always(address):
    ip = ipaddress.ip_address(address)
    for allow_private in (False, True):
        assert "cloud metadata" in outbound.refusal_reason(ip, allow_private=allow_private)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert outbound.refusal_reason(ipaddress.ip_address(address), allow_private=False) is None


def test_private_urls_are_allowed_only_by_the_test_environment_unless_set():
    assert load_settings({"NEBULO_ENV": "testing"}).allow_private_urls is True
    assert load_settings({"NEBULO_ENV": "development"}).allow_private_urls is False
    strict = load_settings({"NEBULO_ENV": "testing", "NEBULO_ALLOW_PRIVATE_URLS": "0"})
    assert strict.allow_private_urls is False
    loose = load_settings({"NEBULO_ENV": "development", "NEBULO_ALLOW_PRIVATE_URLS": "1"})
    assert loose.allow_private_urls is True


def test_a_hostname_that_resolves_to_loopback_is_refused_before_connecting():
    with Bystander() as bystander, outbound.client(allow_private=False, timeout=5) as client:
        port = bystander.server.server_address[1]
        with pytest.raises(outbound.RefusedDestination, match="127.0.0.1"):
            client.get(f"http://localhost:{port}/")
        with pytest.raises(outbound.RefusedDestination):
            client.get(f"{bystander.url}/")
        assert bystander.requests == []


def test_every_redirect_hop_is_checked():
    """The client follows no redirect; a caller that asks it to still cannot reach a refused
    address, because each connection is checked by the transport."""
    with Bystander() as first, outbound.client(allow_private=True, timeout=5) as client:
        first.script(302, {}, {"Location": "http://169.254.169.254/latest/meta-data/"})
        assert client.get(f"{first.url}/start").status_code == 302
        first.script(302, {}, {"Location": "http://169.254.169.254/latest/meta-data/"})
        with pytest.raises(outbound.RefusedDestination, match="cloud metadata"):
            client.get(f"{first.url}/start", follow_redirects=True)


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """DNS rebinding: a name that resolves to an allowed address for the check and to a
    refused one a moment later is resolved once; the checked address is the one called."""
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding_dns(host, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            answer = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
            return real_getaddrinfo(answer, *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    with Bystander() as server, outbound.client(allow_private=True, timeout=5) as client:
        port = server.server.server_address[1]
        assert client.get(f"http://rebind.test:{port}/hello").status_code == 200
    assert lookups == ["rebind.test"]
    [request] = server.requests
    assert request.path == "/hello" and request.headers["Host"] == f"rebind.test:{port}"


def test_a_server_that_does_not_speak_http_is_described_in_our_words():
    """h11 quotes a malformed status line in its error; that text must not be passed on."""
    with (
        NotHttp() as redis_like,
        outbound.client(allow_private=True, timeout=5) as client,
        pytest.raises(httpx.HTTPError) as raised,
    ):
        client.get(f"{redis_like.url}/")
    assert redis_like.SECRET in str(raised.value), "what would leak without our own words"
    described = outbound.describe_failure(raised.value)
    assert described == "the answer was not valid HTTP"
    assert "internal-secret" not in described


def test_check_url_refuses_what_delivery_would_refuse():
    outbound.check_url("https://93.184.216.34/hook", allow_private=False)
    for url in ("http://localhost/hook", "ftp://93.184.216.34/", "http:///nohost"):
        with pytest.raises(outbound.RefusedDestination):
            outbound.check_url(url, allow_private=False)
    outbound.check_url("http://localhost/hook", allow_private=True)
    with pytest.raises(outbound.RefusedDestination, match="cloud metadata"):
        outbound.check_url("http://169.254.169.254/", allow_private=True)


def test_origin_spells_out_the_default_port():
    assert outbound.origin("https://Shop.example/a?b=1") == ("https", "shop.example", 443)
    assert outbound.origin("http://127.0.0.1:8080/x") == ("http", "127.0.0.1", 8080)
    assert outbound.origin("https://shop.example:443/") != outbound.origin("http://shop.example/")


def self_signed_certificate(directory, hostname: str) -> tuple[str, str]:
    """A certificate for ``hostname`` only (no IP address in it) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_tls_is_verified_against_the_hostname_while_connecting_to_the_checked_address(tmp_path):
    """The request goes to 127.0.0.1, yet the certificate (issued to localhost only) is checked
    against the name in the URL, as it would be without the guard."""
    cert, key = self_signed_certificate(tmp_path, "localhost")
    with Bystander() as server:
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        # Same file descriptor, so the running server now accepts TLS connections.
        server.server.socket = server_context.wrap_socket(server.server.socket, server_side=True)
        port = server.server.server_address[1]
        trusting = ssl.create_default_context(cafile=cert)
        transport = outbound.GuardedTransport(allow_private=True, verify=trusting)
        with httpx.Client(transport=transport, timeout=5) as client:
            assert client.get(f"https://localhost:{port}/tls").status_code == 200
            with pytest.raises(httpx.ConnectError, match="certificate"):
                client.get(f"https://127.0.0.1:{port}/tls")
    assert [request.path for request in server.requests] == ["/tls"]
