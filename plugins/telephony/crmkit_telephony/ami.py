"""A small Asterisk Manager Interface (AMI) client over TCP.

The wire format: messages of ``Key: Value`` lines ending in ``\\r\\n``, a blank line
after each message; the server greets with one line (``Asterisk Call Manager/x.y``).
The client logs in (``Action: Login``), then hands every message to a callback and,
when the connection drops, reconnects with exponential backoff.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
from typing import Callable, Iterator, Mapping

log = logging.getLogger("crmkit_telephony.ami")

Message = dict[str, str]


class AmiError(Exception):
    """The AMI server refused us (login) or broke the protocol."""


def encode(fields: Mapping[str, str]) -> bytes:
    """One AMI message on the wire."""
    return "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n"


def decode(block: bytes) -> Message:
    """One AMI message (``Key: Value`` lines) as a dict; later duplicate keys win."""
    message: Message = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message[key.strip()] = value.strip()
    return message


class Connection:
    """One logged-in AMI connection."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.banner = self._read_line()
        self._ids = itertools.count(1)

    def _read_line(self) -> str:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the AMI server closed the connection")
        self.buffer += chunk

    def messages(self, stop: threading.Event | None = None, poll: float = 0.2) -> Iterator[Message]:
        """Messages as they arrive; ends when ``stop`` is set (checked every ``poll`` seconds)."""
        self.sock.settimeout(poll)
        while stop is None or not stop.is_set():
            while b"\r\n\r\n" in self.buffer:
                block, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
                if block.strip():
                    yield decode(block)
            try:
                self._fill()
            except socket.timeout:
                continue

    def action(self, name: str, fields: Mapping[str, str] | None = None, *, timeout: float = 10.0) -> Message:
        """Send an action and return its response (events in between are dropped)."""
        action_id = f"crmkit-{next(self._ids)}"
        self.sock.sendall(encode({"Action": name, "ActionID": action_id, **(fields or {})}))
        self.sock.settimeout(timeout)
        while True:
            while b"\r\n\r\n" not in self.buffer:
                self._fill()
            block, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            message = decode(block)
            if "Response" in message and message.get("ActionID") == action_id:
                return message

    def login(self, username: str, secret: str, events: str = "on") -> None:
        answer = self.action("Login", {"Username": username, "Secret": secret, "Events": events})
        if answer.get("Response") != "Success":
            raise AmiError(f"AMI login refused: {answer.get('Message', 'no message')}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass


class AmiClient:
    """Keeps an AMI session: connect, log in, deliver messages, reconnect with backoff.

    :param on_message: called with every message after login (in the client's thread).
    :param backoff: the first wait before reconnecting; doubled after each failure up to ``max_backoff``,
        reset after a successful login.
    """

    def __init__(self, host: str, port: int, username: str, secret: str, on_message: Callable[[Message], None], *,
                 backoff: float = 1.0, max_backoff: float = 30.0, timeout: float = 10.0) -> None:
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.on_message = on_message
        self.backoff, self.max_backoff, self.timeout = backoff, max_backoff, timeout
        self.connections = 0  # successful logins so far

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        delay = self.backoff
        while not stop.is_set():
            conn: Connection | None = None
            try:
                conn = Connection(self.host, self.port, timeout=self.timeout)
                conn.login(self.username, self.secret)
                self.connections += 1
                delay = self.backoff
                log.info("AMI connected to %s:%s (%s)", self.host, self.port, conn.banner)
                for message in conn.messages(stop):
                    try:
                        self.on_message(message)
                    except Exception:  # one bad event must not drop the session
                        log.exception("AMI message not handled: %s", message.get("Event"))
            except (OSError, AmiError) as exc:
                log.warning("AMI connection to %s:%s lost (%s); retrying in %.2f s", self.host, self.port, exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
            finally:
                if conn is not None:
                    conn.close()
