"""E-mail over TLS to a real aiosmtpd server on loopback with a self-signed certificate made by the
test (``openssl``): STARTTLS offered and required, implicit TLS (``ssl``), the certificate verified
against ``ca_file``, and an untrusted certificate or a server without STARTTLS never sends in clear."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

from crmkit import ConfigError, Crm, FrozenClock
from crmkit.messages.config import parse

from messages_support import Mailbox, contact, free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (an EC key: fast to make)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    d = tmp_path_factory.mktemp("tls")
    return {"server": _certificate(d, "server"), "stranger": _certificate(d, "stranger")}


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


class Server:
    def __init__(self, **kwargs: Any) -> None:
        self.box = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port, **kwargs)


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[Server] = []

    def start(**kwargs: Any) -> Server:
        server = Server(**kwargs)
        server.controller.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.controller.stop()


def _crm(make_crm: Any, port: int, security: str, ca_file: Path | None) -> Crm:
    email: dict[str, Any] = {"host": "127.0.0.1", "port": port, "security": security,
                             "from": "Windows Ltd <crm@windows.example>", "timeout": 5}
    if ca_file is not None:
        email["ca_file"] = str(ca_file)
    return make_crm(settings={"messages": {"public_url": "https://crm.windows.example", "email": email}})


def _send(crm: Crm) -> Any:
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, subject="Measurement", body="Monday at 10.")
    crm.messages.deliver()
    return crm.messages.get(msg.id)


@pytest.mark.parametrize("required", [False, True], ids=["offered", "required"])
def test_starttls_verified_against_the_ca_file(make_crm: Any, serve: Any, certs: Any, required: bool) -> None:
    server = serve(tls_context=_server_context(certs["server"]), require_starttls=required)
    sent = _send(_crm(make_crm, server.port, "starttls", certs["server"][0]))
    assert sent.status == "sent" and sent.attempts == 1
    [(envelope, mail)] = server.box.messages
    assert envelope.rcpt_tos == ["jane@smith.example"] and mail["Subject"] == "Measurement"


def test_implicit_tls_verified_against_the_ca_file(make_crm: Any, serve: Any, certs: Any) -> None:
    server = serve(ssl_context=_server_context(certs["server"]))
    sent = _send(_crm(make_crm, server.port, "ssl", certs["server"][0]))
    assert sent.status == "sent"
    assert [m["To"] for _, m in server.box.messages] == ["jane@smith.example"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_untrusted_certificate_sends_nothing_and_is_retried(make_crm: Any, serve: Any, certs: Any,
                                                               clock: FrozenClock, security: str) -> None:
    tls = _server_context(certs["server"])
    server = serve(**({"tls_context": tls} if security == "starttls" else {"ssl_context": tls}))
    crm = _crm(make_crm, server.port, security, certs["stranger"][0])  # trusts another certificate only
    msg = _send(crm)
    assert (msg.status, msg.attempts) == ("queued", 1)
    assert "certificate" in (msg.last_error or "")
    assert server.box.messages == []

    # the system trust store does not know a self-signed certificate either
    crm_default = _crm(make_crm, server.port, security, None)
    assert _send(crm_default).status == "queued" and server.box.messages == []


def test_starttls_not_offered_sends_nothing_in_clear(make_crm: Any, serve: Any, certs: Any) -> None:
    server = serve()  # no TLS at all
    msg = _send(_crm(make_crm, server.port, "starttls", certs["server"][0]))
    assert msg.status == "queued" and "does not offer STARTTLS" in (msg.last_error or "")
    assert server.box.messages == []


def test_a_server_requiring_starttls_refuses_a_clear_client(make_crm: Any, serve: Any, certs: Any) -> None:
    server = serve(tls_context=_server_context(certs["server"]), require_starttls=True)
    msg = _send(_crm(make_crm, server.port, "none", None))
    assert msg.status == "queued" and "530" in (msg.last_error or "")
    assert server.box.messages == []


def test_ca_file_is_checked_when_the_settings_are_read(tmp_path: Path, certs: Any) -> None:
    base = {"host": "x", "from": "a@b.example"}
    assert parse({"email": {**base, "ca_file": str(certs["server"][0])}}).email.ca_file == str(certs["server"][0])
    with pytest.raises(ConfigError, match=r"email\.ca_file"):
        parse({"email": {**base, "ca_file": str(tmp_path / "missing.pem")}})
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match=r"email\.ca_file"):
        parse({"email": {**base, "ca_file": str(tmp_path / "junk.pem")}})
    with pytest.raises(ConfigError, match=r"email\.ca_file"):
        parse({"email": {**base, "security": "none", "ca_file": str(certs["server"][0])}})
