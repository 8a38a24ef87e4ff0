"""An installed distribution: an ISV's product, found by its entry point in ``crmkit.distributions``.

The entry point names a package holding ``distribution.toml``::

    name = "fitclub"                         # the entry-point name
    title = "FitClub CRM for fitness clubs"  # one line for `crmkit distributions list`
    defaults = "defaults.toml"               # the default crmkit.toml (plugins, pipelines, custom fields, ...)
    templates = "templates"                  # message and document templates: <key>.<language>.toml
    demo = "crmkit_fitclub.demo:seed"        # optional: seed(crm, now) fills a deployment with demo data

    [brand]
    product_name = "FitClub CRM"
    logo = "brand/logo.svg"                  # a file of the package (.svg, .png, .jpg)
    primary_color = "#0f766e"
    accent_color = "#c2410c"
    email_from = "FitClub CRM <hello@fitclub.example>"

Paths are inside the package. The version is the installed Python distribution's.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Callable, Mapping

import attrs

from .. import ConfigError, NotFoundError

ENTRY_POINT_GROUP = "crmkit.distributions"
MANIFEST = "distribution.toml"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KEYS = frozenset({"name", "title", "defaults", "templates", "demo", "brand"})
_BRAND_KEYS = frozenset({"product_name", "logo", "primary_color", "accent_color", "email_from"})
LOGO_TYPES = (".svg", ".png", ".jpg", ".jpeg")


@attrs.frozen
class Brand:
    """The product's face: its name, logo, colours and e-mail sender."""

    product_name: str
    logo: str | None = None
    primary_color: str | None = None
    accent_color: str | None = None
    email_from: str | None = None


@attrs.frozen
class TemplateFile:
    """A message or document template shipped by a distribution (``<key>.<language>.toml``)."""

    key: str
    language: str
    subject: str
    body: str
    html: str | None


@attrs.frozen
class Distribution:
    """An installed distribution, read from its package (see the module's docstring)."""

    name: str
    version: str
    title: str
    package: str
    brand: Brand
    defaults: Mapping[str, Any]
    """The default crmkit.toml, as a dict."""
    templates: tuple[TemplateFile, ...] = ()
    demo: str | None = None

    def root(self) -> Traversable:
        return files(self.package)

    def logo_bytes(self) -> bytes | None:
        return self.root().joinpath(self.brand.logo).read_bytes() if self.brand.logo else None

    def demo_seeder(self) -> Callable[..., Any] | None:
        """``seed(crm, now)`` of the distribution's demo data, if it has one."""
        if not self.demo:
            return None
        module, _, attr = self.demo.partition(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def installed_distributions() -> dict[str, importlib.metadata.EntryPoint]:
    """Every distribution installed in this environment, by name (nothing imported)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_distribution(name: str) -> Distribution:
    """The installed distribution ``name``; a :class:`ConfigError` naming what is wrong with it."""
    installed = installed_distributions()
    ep = installed.get(name)
    if ep is None:
        known = ", ".join(sorted(installed)) or "none (pip install an ISV's crmkit-<product> package)"
        raise NotFoundError(f"no distribution {name!r} is installed (installed: {known})")
    package = ep.value.split(":", 1)[0]
    try:
        root = files(package)
        data = tomllib.loads(root.joinpath(MANIFEST).read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError(f"distribution {name}: cannot read {package}/{MANIFEST} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"distribution {name}: {MANIFEST} is not valid TOML: {exc}") from None
    return _parse(name, package, ep.dist.version if ep.dist else "0", root, data)


def _fail(name: str, message: str) -> ConfigError:
    return ConfigError(f"distribution {name}: {MANIFEST}: {message}")


def _parse(name: str, package: str, version: str, root: Traversable, data: Mapping[str, Any]) -> Distribution:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _fail(name, f"unknown key {unknown[0]!r} (keys: {', '.join(sorted(_KEYS))})")
    if data.get("name") != name:
        raise _fail(name, f"name must be the entry-point name {name!r}, got {data.get('name')!r}")
    brand_table = data.get("brand", {})
    if not isinstance(brand_table, dict):
        raise _fail(name, "[brand] must be a table")
    unknown = sorted(set(brand_table) - _BRAND_KEYS)
    if unknown:
        raise _fail(name, f"[brand] unknown key {unknown[0]!r} (keys: {', '.join(sorted(_BRAND_KEYS))})")
    for key in ("primary_color", "accent_color"):
        if key in brand_table and not (isinstance(brand_table[key], str) and _COLOR.match(brand_table[key])):
            raise _fail(name, f"[brand] {key}: a colour like \"#0f766e\", got {brand_table[key]!r}")
    logo = brand_table.get("logo")
    if logo is not None and (not str(logo).lower().endswith(LOGO_TYPES) or not root.joinpath(logo).is_file()):
        raise _fail(name, f"[brand] logo: no {', '.join(LOGO_TYPES)} file {logo!r} in {package}")
    sender = brand_table.get("email_from")
    if sender is not None and "@" not in str(sender):
        raise _fail(name, f"[brand] email_from: an address such as \"Club <hello@club.example>\", got {sender!r}")
    brand = Brand(product_name=str(brand_table.get("product_name") or data.get("title") or name), logo=logo,
                  primary_color=brand_table.get("primary_color"), accent_color=brand_table.get("accent_color"),
                  email_from=sender)
    defaults: dict[str, Any] = {}
    if "defaults" in data:
        try:
            defaults = tomllib.loads(root.joinpath(str(data["defaults"])).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise _fail(name, f"defaults: no file {data['defaults']!r} in {package}") from None
        except tomllib.TOMLDecodeError as exc:
            raise _fail(name, f"defaults: {data['defaults']} is not valid TOML: {exc}") from None
        for key in ("database", "name"):
            if key in defaults:
                raise _fail(name, f"defaults: {key!r} is the deployment's own (name comes from [brand])")
    templates = _templates(name, root, data["templates"]) if "templates" in data else ()
    demo = data.get("demo")
    if demo is not None and (not isinstance(demo, str) or ":" not in demo):
        raise _fail(name, f"demo: \"package.module:function\", got {demo!r}")
    return Distribution(name=name, version=version, title=str(data.get("title", brand.product_name)), package=package,
                        brand=brand, defaults=defaults, templates=templates, demo=demo)


def _templates(name: str, root: Traversable, folder: str) -> tuple[TemplateFile, ...]:
    where = root.joinpath(folder)
    if not where.is_dir():
        raise _fail(name, f"templates: no folder {folder!r}")
    out = []
    for entry in sorted(where.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        key, _, language = entry.name[:-len(".toml")].rpartition(".")
        try:
            table = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise _fail(name, f"templates/{entry.name}: not valid TOML: {exc}") from None
        if not key or not language or not isinstance(table.get("body"), str):
            raise _fail(name, f"templates/{entry.name}: a <key>.<language>.toml file with a body")
        out.append(TemplateFile(key=key, language=language, subject=str(table.get("subject", "")),
                                body=table["body"], html=table.get("html")))
    return tuple(out)
