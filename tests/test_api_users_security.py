"""Users through the API and the SDK: who sees e-mail addresses, what a token alone cannot do
(change its user's password, make more tokens), and who may change whom."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from test_api_helpers import Api, api, build_api  # noqa: F401  (fixture)

from crmkit import Crm, FrozenClock, PermissionDeniedError, PluginInfo, Role, Settings, hookimpl
from crmkit.core import auth
from crmkit.testing import template
from crmkit.web.resources.users import PASSWORD_TRIES


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "password_cost", auth.TEST_COST)


def bearer(crm: Crm, user_id: int) -> dict[str, str]:
    _, secret = auth.create_token(crm, user_id, "test")
    return {"Authorization": f"Bearer {secret}"}


# -- e-mail addresses ------------------------------------------------------------------------


def test_only_admins_see_everyones_email(api: Api) -> None:
    mia = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    hana = api.crm.users.create(email="hana@windows.example", name="Hana", role="head", team="A")
    for user, headers in ((mia, bearer(api.crm, mia.id)), (hana, bearer(api.crm, hana.id))):
        listed = api.ok(api.client.get("/api/v1/users", headers=headers))["items"]
        assert {u["id"]: u["email"] for u in listed} == {
            api.admin_id: None, mia.id: "mia@windows.example" if user is mia else None,
            hana.id: "hana@windows.example" if user is hana else None}
        assert all(u["name"] and u["role"] for u in listed)
        assert api.ok(api.client.get(f"/api/v1/users/{api.admin_id}", headers=headers))["email"] is None
        assert api.ok(api.client.get("/api/v1/users/me", headers=headers))["email"] == user.email
        assert api.ok(api.client.get(f"/api/v1/users/{user.id}", headers=headers))["email"] == user.email
        api.error(api.client.get("/api/v1/users", params={"email": "admin@windows.example"}, headers=headers),
                  403, "email")
        api.error(api.client.get("/api/v1/users", params={"email__in": "a@b.example"}, headers=headers), 403,
                  "email__in")
        api.error(api.client.get("/api/v1/users", params={"order": "-email"}, headers=headers), 403, "order")
    admin_view = api.ok(api.get("/api/v1/users", params={"email": "mia@windows.example"}))["items"]
    assert [u["email"] for u in admin_view] == ["mia@windows.example"]
    assert api.ok(api.get(f"/api/v1/users/{hana.id}"))["email"] == "hana@windows.example"


def test_the_sdk_hides_emails_the_same_way(crm: Crm, alice: Any) -> None:
    admin = crm.users.create(email="root@windows.example", name="Root", role="admin")
    mine = crm.as_user(alice.id).users
    assert mine.get(admin.id).email is None and mine.get(alice.id).email == alice.email
    assert {u.id: u.email for u in mine.list()} == {alice.id: alice.email, admin.id: None}
    assert mine.by_email(alice.email) == mine.get(alice.id)
    for email in ("root@windows.example", "nobody@windows.example"):  # existence is not told either
        with pytest.raises(PermissionDeniedError):
            mine.by_email(email)
    with pytest.raises(PermissionDeniedError):
        mine.count(email="root@windows.example")
    assert crm.as_user(admin.id).users.get(alice.id).email == alice.email
    assert crm.users.by_email("root@windows.example") == crm.users.get(admin.id)


def test_openapi_says_email_may_be_null(api: Api) -> None:
    doc = api.ok(api.get("/api/v1/openapi.json"))
    user = doc["paths"]["/api/v1/users/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in user:
        user = doc["components"]["schemas"][user["$ref"].rsplit("/", 1)[1]]
    email = user["properties"]["email"]
    assert "null" in email["type"] and "admins" in email["description"]


# -- passwords and tokens: a token alone is not enough --------------------------------------


def test_changing_ones_own_password_takes_the_current_one(api: Api) -> None:
    mia = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    auth.set_password(api.crm, mia.id, "old password")
    me = bearer(api.crm, mia.id)
    url = f"/api/v1/users/{mia.id}/password"
    api.error(api.client.post(url, json={"password": "new password"}, headers=me), 422, "current_password")
    api.error(api.client.post(url, json={"password": "new password", "current_password": "guess!!!"}, headers=me),
              403, "current_password")
    assert auth.check_password(api.crm, mia.email, "old password") is not None
    api.ok(api.client.post(url, json={"password": "new password", "current_password": "old password"}, headers=me))
    assert auth.check_password(api.crm, mia.email, "new password") is not None
    api.error(api.client.post(f"/api/v1/users/{api.admin_id}/password", json={"password": "hijacked!!"},
                              headers=me), 403)
    # an admin sets another user's password without it, but their own only with it
    api.ok(api.post(url, {"password": "from the admin"}))
    assert auth.check_password(api.crm, mia.email, "from the admin") is not None
    api.error(api.post(f"/api/v1/users/{api.admin_id}/password", {"password": "new admin password"}), 422,
              "current_password")


def test_a_user_without_a_password_gets_the_first_from_an_admin(api: Api) -> None:
    mia = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    err = api.error(api.client.post(f"/api/v1/users/{mia.id}/password",
                                    json={"password": "first password", "current_password": "anything"},
                                    headers=bearer(api.crm, mia.id)), 403, "current_password")
    assert "no password yet" in err["message"]
    assert not auth.has_password(api.crm, mia.id)


def test_minting_a_token_takes_the_password(api: Api) -> None:
    mia = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    auth.set_password(api.crm, mia.id, "correct horse")
    stolen = bearer(api.crm, mia.id)
    api.error(api.client.post("/api/v1/tokens", json={"name": "mine now"}, headers=stolen), 422, "password")
    api.error(api.client.post("/api/v1/tokens", json={"name": "mine now", "password": "guess!!!"}, headers=stolen),
              403, "password")
    assert len(auth.list_tokens(api.crm, mia.id)) == 1
    made = api.ok(api.client.post("/api/v1/tokens", json={"name": "ci", "password": "correct horse"},
                                  headers=stolen), 201)
    assert made["token"]["user_id"] == mia.id and made["secret"].startswith("crmk_")


def test_password_guesses_are_limited_per_user(api: Api, clock: FrozenClock) -> None:
    mia = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    auth.set_password(api.crm, mia.id, "correct horse")
    me = bearer(api.crm, mia.id)
    for i in range(PASSWORD_TRIES):
        api.error(api.client.post("/api/v1/tokens", json={"password": f"guess {i}!"}, headers=me), 403, "password")
    limited = api.client.post(f"/api/v1/users/{mia.id}/password",
                              json={"password": "new password", "current_password": "correct horse"}, headers=me)
    api.error(limited, 429, "current_password")
    assert int(limited.headers["retry-after"]) >= 1
    assert auth.check_password(api.crm, mia.email, "correct horse") is not None  # (not through the API)
    other = api.crm.users.create(email="ola@windows.example", name="Ola", role="manager")
    auth.set_password(api.crm, other.id, "correct horse")
    api.ok(api.client.post("/api/v1/tokens", json={"password": "correct horse"}, headers=bearer(api.crm, other.id)),
           201)  # another user's tries are their own
    clock.advance(seconds=60)
    api.ok(api.client.post("/api/v1/tokens", json={"password": "correct horse"}, headers=me), 201)


# -- who may change whom --------------------------------------------------------------------


def test_managers_change_no_user_not_even_themselves(api: Api) -> None:
    mia = api.crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    ola = api.crm.users.create(email="ola@windows.example", name="Ola", role="manager")
    me = bearer(api.crm, mia.id)
    for target in (mia.id, ola.id):
        for change in ({"role": "admin"}, {"active": False}, {"team": "A"}, {"name": "X"}):
            api.error(api.client.patch(f"/api/v1/users/{target}", json=change, headers=me), 403)
        with pytest.raises(PermissionDeniedError):
            api.crm.as_user(mia.id).users.update(target, {"role": "admin"})
    with pytest.raises(PermissionDeniedError):
        auth.create_token(api.crm, ola.id, actor_id=mia.id)
    assert api.crm.users.get(mia.id).role == "manager" and api.crm.users.get(ola.id).active


def test_nobody_changes_their_own_role_team_or_active_flag(api: Api) -> None:
    for change in ({"role": "manager"}, {"active": False}, {"team": "A"}):
        err = api.error(api.patch(f"/api/v1/users/{api.admin_id}", change), 403, next(iter(change)))
        assert "your own" in err["message"]
    assert api.ok(api.patch(f"/api/v1/users/{api.admin_id}", {"name": "Ada A.", "role": "admin"}))["name"] == "Ada A."
    other = api.crm.users.create(email="eve@windows.example", name="Eve", role="admin")
    api.ok(api.client.patch(f"/api/v1/users/{api.admin_id}", json={"role": "head"}, headers=bearer(api.crm, other.id)))


class HumanResources:
    """A plugin role that manages users but is not an admin."""

    plugin_info = PluginInfo(name="hr", version="1")

    @hookimpl
    def crm_register_roles(self, crm: Any) -> list[Role]:
        return [Role("hr", "own", frozenset({"users.manage", "cards.read", "cards.write"}), "manages staff")]


@pytest.fixture
def hr_api(db_url: str, clock: FrozenClock, tmp_path: Any) -> Iterator[Api]:
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[HumanResources()], clock=clock)
    built = build_api(crm)
    with built.client:
        yield built
    crm.close()


def test_a_role_managing_users_cannot_reach_above_itself(hr_api: Api) -> None:
    api, crm = hr_api, hr_api.crm
    hr = crm.users.create(email="hr@windows.example", name="Harriet", role="hr")
    mia = crm.users.create(email="mia@windows.example", name="Mia", role="manager")
    me, sdk = bearer(crm, hr.id), crm.as_user(hr.id).users
    # what the role is for: the API and the SDK agree
    api.ok(api.client.patch(f"/api/v1/users/{mia.id}", json={"team": "A"}, headers=me))
    made = api.ok(api.client.post("/api/v1/users", json={"email": "new@windows.example", "name": "New"},
                                  headers=me), 201)
    assert made["email"] == "new@windows.example"  # managing users means seeing their e-mail
    auth.set_password(crm, mia.id, "correct horse", actor_id=hr.id)
    # never above itself: no admins made, changed, taken over
    api.error(api.client.patch(f"/api/v1/users/{mia.id}", json={"role": "admin"}, headers=me), 403, "role")
    api.error(api.client.patch(f"/api/v1/users/{api.admin_id}", json={"active": False}, headers=me), 403, "role")
    api.error(api.client.post("/api/v1/users", json={"email": "x@windows.example", "name": "X", "role": "admin"},
                              headers=me), 403, "role")
    api.error(api.client.post(f"/api/v1/users/{api.admin_id}/password", json={"password": "taken over"},
                              headers=me), 403)
    with pytest.raises(PermissionDeniedError):
        sdk.update(hr.id, {"role": "admin"})
    with pytest.raises(PermissionDeniedError):
        auth.create_token(crm, api.admin_id, actor_id=hr.id)
    assert crm.users.get(api.admin_id).active and crm.users.get(mia.id).role == "manager"
    assert not auth.has_password(crm, api.admin_id)
