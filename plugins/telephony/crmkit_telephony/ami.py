"""A small Asterisk Manager Interface (AMI) client over TCP.

The wire format: messages of ``Key: Value`` lines ending in ``\\r\\n``, a blank line
after each message; the server greets with one line (``Asterisk Call Manager/x.y``).
The client logs in (``Action: Login``), then hands every message to a callback and,
when the connection drops, reconnects with exponential backoff.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
import threading
from typing import Callable, Iterator, Mapping

log = logging.getLogger("crmkit_telephony.ami")

Message = dict[str, str]


# Control characters (C0, DEL, C1) and Unicode line/paragraph separators: a CR or LF in a value
# would end the line (and a blank line the message) and let the rest be read as another action.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


class AmiError(Exception):
    """The AMI server refused us (login) or broke the protocol."""


class UnsafeValueError(ValueError):
    """A key or value for the AMI wire holds a control character (CR/LF: action injection). Nothing was sent."""

    def __init__(self, key: str) -> None:
        super().__init__(f"AMI field {key}: control characters (CR, LF, ...) are not allowed; nothing was sent")
        self.key = key


def check_value(key: str, value: str) -> str:
    """``value`` if it may be written to the AMI as field ``key`` (else :class:`UnsafeValueError`)."""
    if not isinstance(value, str) or _UNSAFE.search(value):
        raise UnsafeValueError(key)
    return value


def encode(fields: Mapping[str, str]) -> bytes:
    """One AMI message on the wire. Every key and value is checked first: a CR/LF (or any other
    control character) raises :class:`UnsafeValueError`, so no caller can inject a line or an action."""
    lines = []
    for key, value in fields.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise UnsafeValueError(repr(key)[:40])
        lines.append(f"{key}: {check_value(key, value)}\r\n")
    return "".join(lines).encode() + b"\r\n"


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
        """Send an action and return its response (events in between are dropped). A control character
        in ``name`` or ``fields`` raises :class:`UnsafeValueError` before anything is sent."""
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
