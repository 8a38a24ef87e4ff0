"""Check-ins: the device endpoint (bearer and signed, bad key, replay, duplicate event id, batch)
and every refusal reason, through the HTTP API."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.web import create_app
from crmkit_fitness.club import Club
from crmkit_fitness.devices import sign_with, signing_secret

from fitness_support import MakeCrm, catalogue, enabled, member, user

URL = "/api/v1/fitness/checkins"


def _setup(make_crm: MakeCrm, clock: FrozenClock) -> tuple[Any, Club, int, str]:
    crm = enabled(make_crm, clock)
    club = Club(crm, user(crm).id)
    catalogue(club)
    device_id, key = club.add_device("Front turnstile")
    return crm, club, device_id, key


def _post(client: TestClient, key: str, body: dict[str, Any], path: str = URL) -> Any:
    return client.post(path, headers={"Authorization": f"Bearer {key}"}, json=body)


def _at(clock: FrozenClock, **delta: float) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def test_bearer_key_duplicate_event_and_bad_keys(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm, club, device_id, key = _setup(make_crm, clock)
    ann = member(crm, club, "year")
    with TestClient(create_app(crm)) as client:
        r = _post(client, key, {"event_id": "t-1", "member_id": ann})
        assert r.status_code == 201, r.text
        assert (r.json()["allowed"], r.json()["reason"], r.json()["duplicate"]) == (True, "ok", False)
        again = _post(client, key, {"event_id": "t-1", "member_id": ann})
        assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["allowed"] is True
        assert Club(crm).member(ann)["visits"] == 1
        for bad in ("fdk_999_x", key[:-1] + ("A" if key[-1] != "A" else "B"), "nonsense", ""):
            r = client.post(URL, headers={"Authorization": f"Bearer {bad}"}, json={"event_id": "x", "member_id": ann})
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", bad
        assert client.post(URL, json={"event_id": "x", "member_id": ann}).status_code == 401
        r = _post(client, key, {"event_id": "t-2", "member_id": ann, "colour": "red"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "colour"
        r = _post(client, key, {"event_id": "t-2"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "member_id"
        r = _post(client, key, {"event_id": "t-2", "member_id": ann, "at": "yesterday"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "at"
        r = client.post(URL, headers={"Authorization": f"Bearer {key}"}, content=b"{not json")
        assert r.status_code == 400
    types = [e.type for e in crm.timeline.of("contact", ann)]
    assert types.count("fitness.checkin") == 1


def test_signed_requests_and_replays(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm, club, device_id, key = _setup(make_crm, clock)
    clock.set(datetime.fromtimestamp(int(time.time()), timezone.utc).replace(hour=9))
    ann = member(crm, club, "year")
    secret = signing_secret(key)

    def signed(body: bytes, stamp: int, sig_secret: str = secret) -> dict[str, str]:
        return {"X-Fitness-Device": str(device_id), "X-Fitness-Timestamp": str(stamp),
                "X-Fitness-Signature": "sha256=" + sign_with(sig_secret, str(stamp), body),
                "Content-Type": "application/json"}

    now = int(clock.now().timestamp())
    body = json.dumps({"event_id": "s-1", "member_id": ann}).encode()
    with TestClient(create_app(crm)) as client:
        r = client.post(URL, headers=signed(body, now), content=body)
        assert r.status_code == 201 and r.json()["allowed"], r.text
        replay = client.post(URL, headers=signed(body, now), content=body)  # the same request again
        assert replay.status_code == 200 and replay.json()["duplicate"] is True
        assert Club(crm).member(ann)["visits"] == 1
        late = client.post(URL, headers=signed(body, now - 301), content=body)
        assert late.status_code == 401 and "window" in late.json()["error"]["message"]
        other = json.dumps({"event_id": "s-2", "member_id": ann}).encode()
        tampered = client.post(URL, headers=signed(body, now), content=other)  # the signature of another body
        assert tampered.status_code == 401
        forged = client.post(URL, headers=signed(other, now, "0" * 64), content=other)
        assert forged.status_code == 401
        # a bearer key is not a signing secret: the hash stored for signing does not reveal the key
        assert secret != key and key not in secret


def test_batch_from_an_offline_turnstile(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm, club, _, key = _setup(make_crm, clock)
    ann, bob = member(crm, club, "month"), member(crm, club, None, "Bob")
    clock.advance(timedelta(days=3))
    events = [{"event_id": f"b-{i}", "member_id": ann, "at": _at(clock, days=-2 + i)} for i in range(3)]
    events.append({"event_id": "b-9", "member_id": bob, "at": _at(clock, hours=-1)})
    events.append({"event_id": "b-0", "member_id": ann, "at": _at(clock, hours=-50)})  # duplicate of b-0's day
    with TestClient(create_app(crm)) as client:
        r = _post(client, key, {"events": events}, URL + "/batch")
        assert r.status_code == 200, r.text
        decisions = r.json()["decisions"]
        assert [d["event_id"] for d in decisions] == ["b-0", "b-0", "b-1", "b-9", "b-2"]  # in time order
        assert [(d["allowed"], d["reason"], d["duplicate"]) for d in decisions] == [
            (True, "ok", False), (True, "ok", True), (True, "ok", False), (False, "no_membership", False),
            (True, "ok", False)]
        again = _post(client, key, {"events": events[:2]}, URL + "/batch").json()["decisions"]
        assert all(d["duplicate"] for d in again)
        bad = _post(client, key, {"events": [events[0], {"event_id": "z", "member_id": "x"}]}, URL + "/batch")
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "events[1].member_id"
        assert _post(client, key, {"events": []}, URL + "/batch").status_code == 422
    [m] = Club(crm).memberships(ann)
    assert m.visits_used == 3  # b-0, b-1, b-2; the duplicate counted once


def test_every_refusal_reason(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm, club, _, key = _setup(make_crm, clock)
    trainer = user(crm, "tom", role="trainer")
    expired = member(crm, club, "trial", "Eve")
    nobody = member(crm, club, None, "Ned")
    club.sell(nobody, "year")  # offered, not paid: a member without a membership
    frozen = member(crm, club, "year", "Fay")
    [fm] = club.memberships(frozen)
    club.freeze(fm.id, starts_on="2026-01-06", days=5, reason="flu")
    early = member(crm, club, "morning", "Ed")
    limited = member(crm, club, "month", "Lim")
    pack = member(crm, club, "pt5", "Pat")
    gym_only = member(crm, club, "month", "Gus")
    klass = club.add_class(activity="yoga", trainer_id=trainer.id, starts_at=_at(clock, days=2, hours=1))
    club.book(klass, pack)
    club.book(klass, gym_only)
    clock.advance(timedelta(days=2, hours=1))  # Wednesday 10:00 UTC, during the class
    with TestClient(create_app(crm)) as client:
        def ask(event: str, **body: Any) -> str:
            r = _post(client, key, {"event_id": event, **body})
            assert r.status_code == 201, r.text
            return str(r.json()["reason"])

        assert ask("u", card="no-such-card") == "unknown_member"
        assert ask("u2", member_id=999) == "unknown_member"
        assert ask("n", member_id=nobody) == "no_membership"
        assert ask("f", member_id=frozen) == "frozen"
        assert ask("h", member_id=early, at=_at(clock, hours=-5)) == "outside_hours"  # 05:00
        assert ask("h2", member_id=early) == "ok"
        for i in range(3):
            assert ask(f"l{i}", member_id=limited, at=_at(clock, minutes=-i)) == "ok"
        assert ask("l3", member_id=limited) == "no_sessions_left"
        assert ask("nb", member_id=limited, class_id=klass) == "not_booked"
        assert ask("ni", member_id=gym_only, class_id=klass) == "not_included"
        assert ask("p1", member_id=pack, class_id=klass) == "ok"
        assert ask("p0", member_id=pack) == "ok"  # the pack's second (last) session
        assert ask("p2", member_id=pack, at=_at(clock, minutes=1)) == "no_sessions_left"
    assert Club(crm).memberships(pack)[0].sessions_used == 2
    club.assign(limited, card="C-77")
    clock.advance(timedelta(days=6))  # the trial week has ended
    with TestClient(create_app(crm)) as client:
        assert _post(client, key, {"event_id": "c", "card": "C-77"}).json()["reason"] == "no_sessions_left"
        assert _post(client, key, {"event_id": "x", "member_id": expired}).json()["reason"] == "expired"


def test_a_visit_uses_the_membership_before_a_pack(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm, club, _, key = _setup(make_crm, clock)
    ann = member(crm, club, "year")
    club.enroll(ann, "pt5")
    with TestClient(create_app(crm)) as client:
        answer = _post(client, key, {"event_id": "v1", "member_id": ann})
    assert answer.status_code == 201 and answer.json()["reason"] == "ok", answer.text
    used = {m.product: (m.visits_used, m.sessions_used) for m in club.memberships(ann)}
    assert used == {"year": (1, 0), "pt5": (0, 0)}  # the pack's sessions stay for the yoga classes
