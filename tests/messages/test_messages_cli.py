"""The CLI of messages, templates, webhooks and campaigns against a deployment made by `crmkit init`,
its e-mail pointed at the test SMTP server; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_cli import fails, ok  # the suite's CLI helpers (tests/ is on sys.path)


def _deployment(db_url: str, tmp_path: Path, smtp_port: int) -> list[str]:
    ok("init", str(tmp_path / "crm"), "--database", db_url)
    config = tmp_path / "crm" / "crmkit.toml"
    config.write_text(config.read_text() + f"""
[settings.messages]
public_url = "https://crm.windows.example"
[settings.messages.email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "Windows Ltd <crm@windows.example>"
""")
    cfg = ["--config", str(config)]
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    return [*cfg, "--as", "admin@windows.example"]


def test_send_deliver_templates_webhooks_campaigns(db_url: str, tmp_path: Path, smtp: Any) -> None:
    cli = _deployment(db_url, tmp_path, smtp[1])
    jane = json.loads(ok(*cli, "contacts", "create", "--first-name", "Jane", "--email", "jane@smith.example",
                         "--json").stdout)
    sent = json.loads(ok(*cli, "messages", "send", "--contact", str(jane["id"]), "--subject", "Hi", "--body",
                         "Hello Jane", "--json").stdout)
    assert sent["status"] == "queued"
    assert "Sent 1," in ok(*cli, "messages", "deliver").stdout
    assert [m["To"] for _, m in smtp[0].messages] == ["jane@smith.example"]
    assert "sent" in ok(*cli, "messages", "list").stdout

    body = tmp_path / "offer.txt"
    body.write_text("Dear {{ contact.first_name }}, 10% off.")
    assert "Saved template offer [en]" in ok(*cli, "templates", "save", "offer", "--body", str(body),
                                              "--subject", "Offer").stdout
    assert "Dear Jane, 10% off." in ok(*cli, "templates", "preview", "offer", "--contact", str(jane["id"])).stdout
    created = ok(*cli, "campaigns", "create", "Spring", "--template", "offer").stdout
    assert "Campaign 1 created" in created
    assert "Queued 1 message(s)" in ok(*cli, "campaigns", "queue", "1").stdout
    assert "queued: 1" in ok(*cli, "campaigns", "results", "1").stdout

    added = ok(*cli, "webhooks", "add", "https://erp.example/hook", "--event", "deal.*").stdout
    assert "whsec_" in added
    assert "https://erp.example/hook" in ok(*cli, "webhooks", "list").stdout
    assert "Webhook 1 disabled" in ok(*cli, "webhooks", "disable", "1").stdout
    assert "email: out" in ok(*cli, "messages", "consent", str(jane["id"]), "out").stdout

    fails(*cli, "messages", "send", "--to", "nobody@", "--body", "x", contains="to:")
    fails(*cli, "messages", "send", "--to", "+12025550188", "--body", "x", contains="no channel sends to phone")
    fails(*cli, "messages", "send", "--contact", str(jane["id"]), contains="body:")
    fails(*cli, "webhooks", "add", "ftp://x", "--event", "*", contains="url:")
    fails(*cli, "campaigns", "create", "X", "--template", "offer", "--segment", "{bad", contains="segment:")
    fails(*cli, "campaigns", "create", "X", "--template", "offer", "--segment", '{"shoe": 1}', contains="shoe")
    fails(*cli, "templates", "preview", "nope", contains="template 'nope' does not exist")
    fails(*cli, "webhooks", "enable", "42", contains="webhook 42 does not exist")
