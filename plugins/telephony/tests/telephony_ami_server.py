"""An Asterisk AMI server on a real loopback TCP socket, for the AMI and click-to-call tests."""

from __future__ import annotations

import socket
import threading
from typing import Any

from telephony_helpers import MakeCrm, telephony_crm

from crmkit_telephony.ami import decode, encode

WAIT = 5.0  # seconds a socket wait may take before the test fails (it never sleeps)


class FakeAsterisk:
    """An AMI server on loopback: greets, checks the login, plays one transcript per connection.

    After the last transcript it keeps the connection open and answers actions (Originate, Logoff).
    """

    def __init__(self, sessions: list[list[dict[str, str]]], secret: str = "s3cret") -> None:
        self.sessions, self.secret = sessions, secret
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(WAIT)
        self.port = self.server.getsockname()[1]
        self.actions: list[dict[str, str]] = []
        self.logins = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, conn: socket.socket, buffer: bytearray) -> dict[str, str] | None:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            buffer += chunk
        block, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        buffer[:] = rest
        return decode(block)

    def _serve(self) -> None:
        try:
            for index, transcript in enumerate(self.sessions):
                conn, _ = self.server.accept()
                conn.settimeout(WAIT)
                with conn:
                    buffer = bytearray()
                    conn.sendall(b"Asterisk Call Manager/5.0.3\r\n")
                    login = self._read(conn, buffer)
                    assert login is not None and login["Action"] == "Login"
                    ok = login.get("Secret") == self.secret
                    self.logins += ok
                    conn.sendall(encode({"Response": "Success" if ok else "Error", "ActionID": login["ActionID"],
                                         "Message": "Authentication accepted" if ok else "Authentication failed"}))
                    if not ok:
                        continue
                    for message in transcript:
                        conn.sendall(encode(message))
                    if index == len(self.sessions) - 1:
                        self._answer_actions(conn, buffer)
                    # else: drop the connection mid-call (Asterisk restarted, network gone)
        except OSError:
            pass
        finally:
            self.done.set()

    def _answer_actions(self, conn: socket.socket, buffer: bytearray) -> None:
        while True:
            try:
                action = self._read(conn, buffer)
            except socket.timeout:
                return
            if action is None:
                return
            self.actions.append(action)
            reply = "Goodbye" if action.get("Action") == "Logoff" else "Success"
            conn.sendall(encode({"Response": reply, "ActionID": action.get("ActionID", ""), "Message": "ok"}))

    def close(self) -> None:
        self.server.close()


def asterisk_crm(make_crm: MakeCrm, server: FakeAsterisk) -> Any:
    return telephony_crm(make_crm, provider="asterisk", asterisk={
        "host": "127.0.0.1", "port": server.port, "username": "crmkit", "secret": "s3cret",
        "recording_url_base": "https://pbx.windows.example/recordings", "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05})
