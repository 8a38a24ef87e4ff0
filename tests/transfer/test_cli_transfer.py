"""``crmkit import``, ``export``, ``duplicates`` and ``merge`` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from crmkit.cli import cli

ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)


def test_the_commands(db_url: str, tmp_path: Path) -> None:
    assert run("init", str(tmp_path / "crm"), "--database", db_url).exit_code == 0
    cfg = ["--config", str(tmp_path / "crm" / "crmkit.toml")]
    assert run(*cfg, "users", "add", "--email", "ada@w.example", "--name", "Ada", "--role", "admin").exit_code == 0
    me = [*cfg, "--as", "ada@w.example"]
    path = tmp_path / "c.csv"
    path.write_text("Nom,Tel,Mail\nAnn Lee,+1 212 555 0100,ann@x.example\nBad,12,\nAnn B,,ANN@x.example\n")
    preview = run(*me, "import", "contacts", str(path), "--preview", "--map", "Nom=name", "--map", "Tel=phones",
                  "--map", "Mail=emails")
    assert preview.output.splitlines() == ["'Nom' -> name", "'Tel' -> phones", "'Mail' -> emails"]
    args = [*me, "import", "contacts", str(path), "--map", "Nom=name", "--map", "Tel=phones", "--map", "Mail=emails"]
    dry = run(*args, "--dry-run")
    assert dry.output.strip() == ("Dry run: 3 rows: 1 would be accepted (1 would be created, 0 would be updated), "
                                  "1 rejected, 1 skipped (duplicates)")
    real = run(*args, "--rejects", str(tmp_path / "rejects.csv"), "--save-mapping", "fr")
    assert real.output.splitlines()[0] == "Import 1: 3 rows: 1 accepted (1 created, 0 updated), 1 rejected, 1 skipped (duplicates)"
    assert (tmp_path / "rejects.csv").read_text().splitlines() == [
        "line,field,reason,Nom,Tel,Mail", "3,phones[0],phones[0]: '12' is not a valid phone number,Bad,12,"]
    again = run(*me, "import", "contacts", str(path), "--mapping", "fr", "--mode", "upsert")
    assert "(0 created, 2 updated)" in again.output and again.exit_code == 0  # both rows match contact 1
    assert run(*me, "contacts", "create", "--first-name", "Ann", "--last-name", "B").exit_code == 0
    found = run(*cfg, "duplicates", "contacts").output.strip()  # PostgreSQL: the dry run took a sequence value
    assert found.startswith("name  ann b: ")
    one, two = found.split(": ")[1].split(", ")
    assert run(*me, "merge", "contacts", one, two).output.strip() == f"Merged contacts {two} into {one} (by Ada)"
    bad = run(*me, "merge", "contacts", one, two)
    assert bad.exit_code == 1 and "archived" in bad.stderr
    out = tmp_path / "out.vcf"
    assert run(*me, "export", "contacts", "--format", "vcf", "--out", str(out)).output.strip() == \
        f"Exported 1 contacts to {out}"
    assert run(*me, "import", "undo", "1").exit_code == 0
    missing = run(*me, "import", "contacts", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
