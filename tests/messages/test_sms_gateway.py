"""SMS through the generic HTTP gateway, to a real HTTP receiver on loopback: the signed request,
retries, permanent refusals, delivery reports, and a worker killed between the send and its record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from crmkit import Crm, FrozenClock, Settings
from crmkit.messages.sms_gateway import sign, verify
from crmkit.testing import template
from messages_support import SMS_SECRET, Receiver, contact, messages_settings, timeline_types


def test_an_sms_is_posted_signed_with_its_idempotency_key(mcrm: Callable[..., Crm], receiver: Receiver) -> None:
    crm = mcrm()
    jane = contact(crm)
    msg = crm.messages.send(contact_id=jane.id, channel="sms", body="Your windows arrive tomorrow.")
    assert (msg.kind, msg.to_address) == ("phone", "+12025550188")
    assert crm.messages.deliver().sent == 1
    (req,) = receiver.requests
    h = req["headers"]
    assert req["path"] == "/sms" and h["idempotency-key"] == msg.idempotency_key
    assert verify(SMS_SECRET, h["x-crmkit-timestamp"], req["body"], h["x-crmkit-signature"])
    assert not verify("another secret 0123456789", h["x-crmkit-timestamp"], req["body"], h["x-crmkit-signature"])
    assert json.loads(req["body"]) == {"id": msg.idempotency_key, "to": "+12025550188", "from": "WINDOWS",
                                       "text": "Your windows arrive tomorrow."}
    sent = crm.messages.get(msg.id)
    assert (sent.status, sent.provider_id) == ("sent", "gw-1")

    assert crm.messages.report("sms", "gw-1", "delivered").status == "delivered"  # the gateway's report
    assert timeline_types(crm, jane.id) == ["message.queued", "message.sent", "message.delivered"]


def test_a_phone_in_local_format_is_normalized(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    assert crm.messages.send(to="(202) 555-0111", body="hi").to_address == "+12025550111"


def test_5xx_is_retried_and_4xx_fails_at_once(mcrm: Callable[..., Crm], receiver: Receiver, clock: FrozenClock) -> None:
    crm = mcrm()
    jane = contact(crm)
    receiver.answers = [(503, {"error": "busy"}), (200, {"id": "gw-2", "status": "delivered"})]
    msg = crm.messages.send(contact_id=jane.id, channel="sms", body="one")
    assert crm.messages.deliver().retrying == 1
    clock.advance(minutes=1)
    assert crm.messages.deliver().sent == 1
    assert crm.messages.get(msg.id).status == "delivered"
    assert {r["headers"]["idempotency-key"] for r in receiver.requests} == {msg.idempotency_key}  # the same key

    receiver.answers = [(422, {"error": "no such number"})]
    receiver.requests.clear()
    other = crm.messages.send(contact_id=jane.id, channel="sms", body="two")
    assert crm.messages.deliver().failed == 1
    row = crm.messages.get(other.id)
    assert row.status == "failed" and "422" in (row.last_error or "") and row.attempts == 1


CHILD = """
import json, sys
from datetime import datetime
from crmkit import Crm, FrozenClock, Settings
data, base, now = json.loads(sys.argv[1]), sys.argv[2], datetime.fromisoformat(sys.argv[3])
crm = Crm(Settings.from_dict(data, base_dir=base, environ={}), clock=FrozenClock(now))
crm.messages.deliver()
print("the worker was not killed")
"""


def test_a_worker_killed_after_the_send_does_not_reach_the_person_twice(
        db_url: str, tmp_path: Path, clock: FrozenClock, receiver: Receiver) -> None:
    """The gateway honours Idempotency-Key (as documented); the worker dies before it records the send."""
    data = {**template(), "database": db_url, "settings": {"messages": messages_settings(sms_url=receiver.url)}}
    crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), clock=clock)
    try:
        msg = crm.messages.send(to="+12025550188", body="once only", channel="sms")
        delivered_keys: set[str] = set()
        child: list[subprocess.Popen[str]] = []

        def gateway(req: dict[str, Any]) -> None:
            key = req["headers"]["idempotency-key"]
            if key not in delivered_keys:
                delivered_keys.add(key)  # the SMS goes out here, once per key
            if child and child[0].poll() is None:
                os.kill(child[0].pid, signal.SIGKILL)  # the worker dies before it hears back
                child[0].wait()

        receiver.on_request = gateway
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        child.append(subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(data), str(tmp_path),
                                       clock.now().isoformat()], env=env, text=True, stdout=subprocess.PIPE))
        out, _ = child[0].communicate(timeout=60)
        assert child[0].returncode == -signal.SIGKILL and "not killed" not in out
        claimed = crm.messages.get(msg.id)
        assert claimed.status == "sending" and claimed.attempts == 1  # not lost: still claimed

        assert crm.messages.deliver().sent == 0  # the dead worker's claim has not expired yet
        clock.advance(minutes=6)
        assert crm.messages.deliver().sent == 1
        assert [r["headers"]["idempotency-key"] for r in receiver.requests] == [msg.idempotency_key] * 2
        assert delivered_keys == {msg.idempotency_key}  # the person got it once
        final = crm.messages.get(msg.id)
        assert (final.status, final.attempts) == ("sent", 2)
        assert crm.messages.deliver().sent == 0
        assert len(receiver.requests) == 2
    finally:
        crm.close()


def test_the_signature_is_over_timestamp_and_body() -> None:
    body = b'{"a": 1}'
    assert sign("k" * 16, "1700000000", body) != sign("k" * 16, "1700000001", body)
    assert verify("k" * 16, "1700000000", body, sign("k" * 16, "1700000000", body), now=1700000100)
    assert not verify("k" * 16, "1700000000", body, sign("k" * 16, "1700000000", body), now=1700000400)
    assert not verify("k" * 16, "abc", body, "v1=00", now=0)


def test_two_workers_at_once_send_each_message_once(mcrm: Callable[..., Crm], receiver: Receiver) -> None:
    """Claims are taken in a write transaction (PostgreSQL: FOR UPDATE SKIP LOCKED): two deliverers
    running together split the outbox, and no message reaches the gateway twice."""
    import threading

    crm = mcrm()
    ids = [crm.messages.send(to=f"+1202555{i:04d}", channel="sms", body=f"n{i}").id for i in range(40)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while crm.messages.deliver(limit=5).sent:
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    keys = [r["headers"]["idempotency-key"] for r in receiver.requests]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert {crm.messages.get(i).status for i in ids} == {"sent"}
