"""Deployments made from a distribution: ``crmkit init --distribution`` and ``crmkit distributions upgrade``.

``distribution.json`` next to crmkit.toml remembers which distribution and release made the
deployment and what it applied (its defaults, the templates' and the logo's fingerprints): the
base of the next upgrade's three-way merge (:mod:`crmkit.distributions.merge`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import attrs

from .. import Crm, ConfigError, Settings, ValidationError
from ..cli.deployment import CONFIG_NAME, create_sqlite_file, sqlite_files, write_private
from ..tenants.tomlw import dumps
from .manifest import Distribution, load_distribution
from .merge import merge

LOCK_NAME = "distribution.json"
BRAND_DIR = "brand"


def base_config(dist: Distribution) -> dict[str, Any]:
    """What the distribution declares for a deployment: its defaults with its brand in ``[ui]``
    and ``name``."""
    config: dict[str, Any] = {"name": dist.brand.product_name}
    config.update({k: v for k, v in dist.defaults.items()})
    ui = dict(config.get("ui", {}))
    ui["product_name"] = dist.brand.product_name
    for key in ("primary_color", "accent_color"):
        value = getattr(dist.brand, key)
        if value:
            ui[key] = value
    if dist.brand.logo:
        ui["logo"] = f"{BRAND_DIR}/{Path(dist.brand.logo).name}"
    config["ui"] = ui
    return config


def _header(dist: Distribution) -> str:
    lines = [
        f"# {dist.brand.product_name}: a crmkit deployment made from the distribution {dist.name} {dist.version}.",
        "# Edit freely: `crmkit distributions upgrade` brings a new release's defaults and keeps your changes",
        "# (docs/distributions.md: the merge rules). An upgrade rewrites this file without comments; the",
        "# previous one is kept as crmkit.toml.bak. Every setting: docs/configuration.md.",
    ]
    if dist.brand.email_from:
        lines += ["#", "# E-mail to members goes out from the brand's sender once a server is set:",
                  "# [settings.messages.email]", "# host = \"smtp.example.com\"",
                  f"# from = {json.dumps(dist.brand.email_from, ensure_ascii=False)}"]
    return "\n".join(lines) + "\n\n"


def _render(dist: Distribution, config: dict[str, Any]) -> str:
    first = {k: config[k] for k in ("name", "database") if k in config}
    return _header(dist) + dumps({**first, **{k: v for k, v in config.items() if k not in first}})


def _digest(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _template_digest(subject: str, body: str, html: str | None) -> str:
    return _digest(json.dumps([subject, body, html], ensure_ascii=False))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@attrs.frozen
class Lock:
    name: str
    version: str
    base: dict[str, Any]
    templates: dict[str, str]
    logo: str | None

    def write(self, directory: Path) -> None:
        data = {"distribution": self.name, "version": self.version, "applied_at": _now(), "base": self.base,
                "templates": self.templates, "logo": self.logo}
        temp = directory / f".{LOCK_NAME}.{os.getpid()}.tmp"
        temp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temp, directory / LOCK_NAME)

    @classmethod
    def read(cls, directory: Path) -> "Lock":
        path = directory / LOCK_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(name=data["distribution"], version=data["version"], base=data["base"],
                       templates=data.get("templates", {}), logo=data.get("logo"))
        except FileNotFoundError:
            raise ConfigError(f"{directory} was not made from a distribution (no {LOCK_NAME}; "
                              "crmkit init --distribution NAME DIR makes one)") from None
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path} is damaged; restore it from a backup to upgrade this deployment") from None


def _templates(crm: Crm, dist: Distribution, recorded: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
    """Save the distribution's templates: all of them at init (``recorded`` None); at an upgrade the
    new ones and those the client never edited. Returns the fingerprints applied and notes."""
    current = {f"{t.key}.{t.language}": _template_digest(t.subject, t.body, t.html) for t in crm.messages.templates.list()}
    applied: dict[str, str] = {}
    notes: list[str] = []
    for t in dist.templates:
        ident = f"{t.key}.{t.language}"
        wanted = _template_digest(t.subject, t.body, t.html)
        if recorded is not None and ident in current:
            edited = current[ident] != recorded.get(ident)
            if edited:
                if wanted != recorded.get(ident):
                    notes.append(f"template {ident}: kept your version; the new release changes it")
                applied[ident] = recorded.get(ident, wanted)
                continue
            if current[ident] == wanted:
                applied[ident] = wanted
                continue
        elif recorded is not None and ident in recorded:  # the client deleted it: stays deleted
            applied[ident] = recorded[ident]
            continue
        saved = crm.messages.templates.save(t.key, t.body, subject=t.subject, html=t.html, language=t.language)
        applied[ident] = _template_digest(saved.subject, saved.body, saved.html)
    return applied, notes


def _open(path: Path, **kwargs: Any) -> Crm:
    from ..core.migrations import open_upgraded  # internal: a database brought to head, as `crmkit init` does

    return open_upgraded(Settings.load(path, environ={}), **kwargs)


def write_deployment(dist: Distribution, directory: Path, *, database: str | None = None,
                     name: str | None = None) -> Path:
    """Write ``directory``'s crmkit.toml and brand files from ``dist`` (no database yet)."""
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{directory} exists and is not a directory")
    path = directory / CONFIG_NAME
    if path.exists():
        raise ValidationError(f"{path} already exists; not overwriting it (upgrade it with "
                              "`crmkit distributions upgrade`, or pick another directory)")
    config = base_config(dist)
    if name:
        config["name"] = name
    config["database"] = database or "sqlite:///crmkit.db"
    Settings.from_dict(config, base_dir=directory, environ={})  # refuse a broken distribution before writing
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    logo = dist.logo_bytes()
    if logo is not None and dist.brand.logo:
        (directory / BRAND_DIR).mkdir(exist_ok=True)
        (directory / BRAND_DIR / Path(dist.brand.logo).name).write_bytes(logo)
    write_private(path, _render(dist, config).encode("utf-8"))
    return path


def init_deployment(name: str, directory: Path, *, database: str | None = None, demo: bool = False,
                    product_name: str | None = None, now: datetime | None = None) -> Path:
    """Create a deployment in ``directory`` from the installed distribution ``name``: crmkit.toml,
    brand files, the database at head with the templates, ``distribution.json``; demo data with
    ``demo``. Nothing is left behind when a step fails."""
    dist = load_distribution(name)
    if demo and dist.demo_seeder() is None:
        raise ValidationError(f"--demo: the distribution {name} ships no demo data", field="demo")
    made_dir = not directory.exists()
    path = write_deployment(dist, directory, database=database, name=product_name)
    db_file = None
    try:
        db_file = create_sqlite_file(Settings.load(path, environ={}).database_url())
        with _open(path) as crm:
            applied, _ = _templates(crm, dist, None)
            if demo:
                seeder = dist.demo_seeder()
                assert seeder is not None
                seeder(crm, now or datetime.now(timezone.utc))
        logo = dist.logo_bytes()
        Lock(dist.name, dist.version, base_config(dist), applied, _digest(logo) if logo else None).write(directory)
    except BaseException:
        path.unlink(missing_ok=True)
        if db_file is not None:
            for f in sqlite_files(f"sqlite:///{db_file}"):
                f.unlink(missing_ok=True)
        _remove_brand(dist, directory, made_dir)
        raise
    return path


def _remove_brand(dist: Distribution, directory: Path, made_dir: bool) -> None:
    """Undo :func:`write_deployment`'s files (and the folder, if it made it and it is empty now)."""
    if dist.brand.logo:
        (directory / BRAND_DIR / Path(dist.brand.logo).name).unlink(missing_ok=True)
    for folder in ([directory / BRAND_DIR] + ([directory] if made_dir else [])):
        for leftover in ("ui_secret.key",):
            if folder == directory:
                (folder / leftover).unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass


def config_writer(name: str) -> Callable[[Path, str, "str | None"], Path]:
    """For ``crmkit tenants add --distribution``: writes a tenant's deployment from distribution
    ``name`` (the templates and ``distribution.json`` follow once its database exists:
    :func:`finish_tenant`)."""
    dist = load_distribution(name)

    def write(directory: Path, tenant: str, database: str | None) -> Path:
        return write_deployment(dist, directory, database=database)

    write.distribution = dist  # type: ignore[attr-defined]
    return write


def finish_deployment(dist: Distribution, path: Path, *, demo: bool = False) -> None:
    """Save the distribution's templates into the (existing) database at ``path`` (and its demo data
    with ``demo``) and write its lock."""
    seeder = dist.demo_seeder() if demo else None
    if demo and seeder is None:
        raise ValidationError(f"--demo: the distribution {dist.name} ships no demo data", field="demo")
    with _open(path) as crm:
        applied, _ = _templates(crm, dist, None)
        if seeder is not None:
            seeder(crm, datetime.now(timezone.utc))
    logo = dist.logo_bytes()
    Lock(dist.name, dist.version, base_config(dist), applied, _digest(logo) if logo else None).write(path.parent)


@attrs.frozen
class UpgradeReport:
    distribution: str
    from_version: str
    to_version: str
    notes: tuple[str, ...]
    changed: bool
    """Whether crmkit.toml changed (the previous one is then in crmkit.toml.bak)."""


def upgrade_deployment(config: Path) -> UpgradeReport:
    """Bring the installed release of the deployment's distribution into it: crmkit.toml merged
    (:mod:`.merge`), the database to head, new and untouched templates and logo replaced."""
    directory = config.resolve().parent
    lock = Lock.read(directory)
    dist = load_distribution(lock.name)
    try:
        ours = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no deployment config at {config}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config}: not valid TOML: {exc}") from None
    theirs = base_config(dist)
    result = merge(lock.base, ours, theirs)
    notes = list(result.notes)
    Settings.from_dict(result.config, base_dir=directory, environ={})  # a merge that would not start: nothing written
    changed = result.config != ours
    if changed:
        backup = directory / (CONFIG_NAME + ".bak")
        backup.unlink(missing_ok=True)
        write_private(backup, config.read_bytes())
        temp = directory / f".{CONFIG_NAME}.{os.getpid()}.tmp"
        write_private(temp, _render(dist, result.config).encode("utf-8"))
        os.replace(temp, config)
    logo = dist.logo_bytes()
    logo_digest = lock.logo
    if logo is not None and dist.brand.logo:
        target = directory / BRAND_DIR / Path(dist.brand.logo).name
        mine = _digest(target.read_bytes()) if target.exists() else None
        if mine is None or mine == lock.logo:
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(logo)
            logo_digest = _digest(logo)
        elif _digest(logo) != lock.logo:
            notes.append(f"{BRAND_DIR}/{target.name}: kept your logo; the new release has another")
    with _open(config) as crm:
        applied, template_notes = _templates(crm, dist, lock.templates)
    Lock(dist.name, dist.version, theirs, applied, logo_digest).write(directory)
    return UpgradeReport(dist.name, lock.version, dist.version, tuple(notes + template_notes), changed)
