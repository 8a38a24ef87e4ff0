"""Error messages in the reader's language: the API by Accept-Language (else the deployment's
language), the CLI by CRMKIT_LANG / LANG; the error's
code and field never change. Real errors of the core services, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import Crm, ValidationError
from crmkit.cli import cli
from crmkit.core import auth
from crmkit.i18n import from_environment, negotiate, normalize
from crmkit.i18n.errors import ENTITIES, TEMPLATES, localize
from crmkit.i18n.translate import translator
from crmkit.web import create_app

LANGS = ("de", "ru", "sl", "zh_Hans")


def client_for(crm: Crm, **headers: str) -> TestClient:
    admin = crm.system.users.create(email="ada@example.com", name="Ada", role="admin")
    _, secret = auth.create_token(crm, admin.id, "tests")
    return TestClient(create_app(crm), headers={"Authorization": f"Bearer {secret}", **headers})


def test_language_tags_map_onto_the_five_languages() -> None:
    assert normalize("de-AT") == "de" and normalize("ru_RU.UTF-8") == "ru" and normalize("sl") == "sl"
    assert normalize("zh-CN") == normalize("zh-Hans-SG") == normalize("zh") == "zh_Hans"
    assert normalize("zh-TW") is None and normalize("zh-Hant") is None and normalize("fr-FR") is None
    assert negotiate("fr-CH, fr;q=0.9, de;q=0.7, en;q=0.5") == "de"
    assert negotiate("en;q=0.2, sl;q=0.8") == "sl" and negotiate("fr, it") is None and negotiate("de;q=0") is None
    assert from_environment({"CRMKIT_LANG": "ru", "LANG": "de_DE.UTF-8"}) == "ru"
    assert from_environment({"LANG": "sl_SI.UTF-8"}) == "sl"
    assert from_environment({"LANG": "C.UTF-8"}) is None and from_environment({}) is None


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_matches_its_own_message_and_keeps_the_values(lang: str) -> None:
    t = translator(lang)
    for template in TEMPLATES:
        values = {name: {"field": "rows[3].amount", "entity": "deal", "id": "4711", "n": "42", "lo": "1",
                         "hi": "99", "role": "measurer", "type": "int"}.get(name, f"<{name}>")
                  for name in re.findall(r"%\((\w+)\)s", template)}
        english = template % values
        local = localize(english, lang)
        assert local != english, f"{lang}: {english!r} not translated"
        for name, value in values.items():
            shown = t.gettext(value) if name == "entity" else value
            assert shown in local, f"{lang}: {value!r} lost in {local!r}"
    assert {t.gettext(e) for e in ENTITIES}.isdisjoint(set(ENTITIES) - {"import"} if lang == "de" else set(ENTITIES))


def test_a_message_no_template_knows_stays_english() -> None:
    assert localize("the moon is not made of cheese", "de") == "the moon is not made of cheese"
    assert localize("deal 5 does not exist", "en") == localize("deal 5 does not exist", None) == "deal 5 does not exist"


def test_the_api_answers_in_the_accept_language(crm: Crm) -> None:
    client = client_for(crm)
    expected = {None: "deal 999999 does not exist", "de": "Deal 999999 existiert nicht",
                "ru": "сделка 999999 не существует", "sl": "posel 999999 ne obstaja", "zh-CN": "交易 999999 不存在"}
    for header, message in expected.items():
        got = client.get("/api/v1/deals/999999", headers={"Accept-Language": header} if header else {})
        assert got.status_code == 404
        assert got.json()["error"] == {"code": "not_found", "message": message}
    bad = client.post("/api/v1/contacts", json={"first_name": "Jane", "emails": ["not-an-address"]},
                      headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert bad.status_code == 422
    err = bad.json()["error"]
    assert err["code"] == "validation_error" and err["field"].startswith("emails")
    assert "ist keine gültige E-Mail-Adresse" in err["message"] and "not-an-address" in err["message"]
    try:
        crm.system.contacts.create(first_name="Jane", emails=["not-an-address"])
    except ValidationError as exc:  # the service itself still speaks English (a log line, a plugin)
        assert "is not a valid e-mail address" in exc.message


def test_the_api_falls_back_to_the_deployments_language(make_crm: Callable[..., Crm]) -> None:
    crm = make_crm(ui={"locale": "sl"})
    client = client_for(crm)
    assert client.get("/api/v1/deals/999999").json()["error"]["message"] == "posel 999999 ne obstaja"
    wanted = client.get("/api/v1/deals/999999", headers={"Accept-Language": "fr, en;q=0.1"})
    assert wanted.json()["error"]["message"] == "deal 999999 does not exist"


def test_a_conflict_and_a_permission_error_in_russian(crm: Crm) -> None:
    client = client_for(crm, **{"Accept-Language": "ru"})
    deal = client.post("/api/v1/deals", json={"title": "Windows", "amount": "100.00"}).json()
    stale = client.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Doors"}, headers={"If-Match": '"999"'})
    assert stale.status_code == 409 and stale.json()["error"] == {
        "code": "conflict", "field": "version", "message": f"сделка {deal['id']} изменена кем-то другим (у вас версия 999, текущая — 1); обновите и попробуйте снова"}
    manager = crm.system.users.create(email="m@example.com", name="M", role="manager")
    _, secret = auth.create_token(crm, manager.id, "m")
    other = TestClient(create_app(crm), headers={"Authorization": f"Bearer {secret}", "Accept-Language": "ru"})
    denied = other.post("/api/v1/users", json={"email": "x@example.com", "name": "X", "role": "admin"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert denied.json()["error"]["message"] == "только администратор может создавать и изменять пользователей"
    unauthenticated = TestClient(create_app(crm)).get("/api/v1/deals", headers={"Accept-Language": "ru"})
    assert unauthenticated.json()["error"]["message"] == (
        "требуется аутентификация: отправьте Authorization: Bearer <token>")


def run(args: list[str], env: dict[str, str | None]) -> Any:
    base = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None,
            "CRMKIT_DEBUG": None, "CRMKIT_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"}
    return CliRunner().invoke(cli, args, env={**base, **env}, catch_exceptions=False)


def test_the_cli_speaks_crmkit_lang_else_lang(db_url: str, tmp_path: Any) -> None:
    assert run(["init", str(tmp_path / "crm"), "--database", db_url], {}).exit_code == 0
    cfg = ["--config", str(tmp_path / "crm" / "crmkit.toml")]
    for env, line in (({}, "Error: deal 424242 does not exist"),
                      ({"LANG": "de_DE.UTF-8"}, "Error: Deal 424242 existiert nicht"),
                      ({"CRMKIT_LANG": "zh_Hans", "LANG": "de_DE.UTF-8"}, "Error: 交易 424242 不存在"),
                      ({"CRMKIT_LANG": "sl"}, "Error: posel 424242 ne obstaja")):
        result = run([*cfg, "deals", "show", "424242"], env)
        assert result.exit_code == 1 and result.stderr.strip() == line
    as_json = run([*cfg, "deals", "show", "424242", "--json"], {"CRMKIT_LANG": "ru"})
    assert '"code": "not_found"' in as_json.stderr and "сделка 424242 не существует" in as_json.stderr
