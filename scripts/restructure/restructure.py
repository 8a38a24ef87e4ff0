#!/usr/bin/env python3
"""The crmkit core restructure (issue 11, "Structure"): old module -> new module, re-runnable.

Run from the repository root (it uses git mv):

    python3 scripts/restructure/restructure.py            # move what is still at an old place, then rewrite
    python3 scripts/restructure/restructure.py --no-move  # rewrite only (imports, dotted names, paths)
    python3 scripts/restructure/restructure.py docs x.py  # only these paths

1. Moves (``git mv``) every module of the old flat core to its new place: the files named in
   MODULES, every file under a package named in PACKAGES (files that arrived later too), the tests
   named in TESTS and the folders in TEST_DIRS. A new module at the root of crmkit/core stays there:
   add it to MODULES (host or domain) and run again.
2. Rewrites imports in every ``.py`` file (ast: ``from X import a, b``, ``import X``, relative
   imports resolved against the file's *old* place): inside ``crmkit/core`` every crmkit import
   becomes absolute; elsewhere a relative import stays relative. Names that left a module (SPLITS:
   ``crmkit.core.services.base``, the ``crmkit.core.services`` package, ...) go to their new module.
   Inside crmkit, ``from crmkit import X`` becomes an import from where X is defined (crmkit's
   ``__init__`` imports those modules: the other way round is an import cycle).
3. Rewrites dotted names (``crmkit.core.app.Crm``, monkeypatch targets, docstrings) and paths
   (``crmkit/core/app.py``, ``tests/test_deals.py``) in ``.py``, ``.md``, ``.toml``, ... files.
4. ``schema`` (the core tables module, as crmkit code imported it) becomes ``tables``.
5. Sorts each run of adjacent crmkit imports in crmkit/.

Idempotent (a second run rewrites nothing). By hand, once: GONE modules (their content was split:
``crmkit/core/services/base.py``, ``crmkit/core/reports/tables.py``): if a merge brings changes to
them, port those into the new modules. tests/fixtures/ is left alone (built by old releases).
"""

from __future__ import annotations

import argparse
import io
import tokenize
import ast
import re
import subprocess
import sys
from pathlib import Path

C = "crmkit.core"

# old module -> new module (files)
MODULES: dict[str, str] = {
    f"{C}.app": f"{C}.crm",
    f"{C}.checks": "crmkit.cli.checks",  # `crmkit config check`: it checks the web settings too
    # the database: engines, tables, column types, SQL helpers
    f"{C}.db": f"{C}.database.engine",
    f"{C}.schema": f"{C}.database.tables",
    f"{C}.prepared": f"{C}.database.prepared",
    f"{C}.reports.tables": f"{C}.database.tables",  # the analytics tables: core tables (merged by hand)
    f"{C}.types": f"{C}.database.types",
    # the host: plugins, hooks, unit of work, event log delivery, worker, migrations
    **{f"{C}.{m}": f"{C}.host.{m}" for m in (
        "plugins", "hookspecs", "hookcall", "hooktrace", "plugin_settings", "boundary", "unit_of_work",
        "events", "dispatcher", "worker", "jobs", "leases", "request_context")},
    # the domain: what a CRM is
    f"{C}.contacts_info": f"{C}.domain.normalize",
    f"{C}.phone_fast": f"{C}.domain.phone_fast",
    f"{C}.log_horizon": f"{C}.host.log_horizon",
    **{f"{C}.{m}": f"{C}.domain.{m}" for m in (
        "records", "money", "text", "pipelines", "customfields", "access", "auth", "automation", "closing",
        "calendar", "ical", "personal_data", "defaults", "default_jobs", "sync")},
}
# old package -> new package (every module under it, and files added to it later)
PACKAGES: dict[str, str] = {
    f"{C}.migrations": f"{C}.host.migrations",
    f"{C}.services": f"{C}.domain.services",
    f"{C}.files": f"{C}.domain.files",
    f"{C}.reports": f"{C}.domain.reports",
}
# names that left a module (the module itself is split or emptied): old module -> {name: new module}
S = f"{C}.domain.services"
SPLITS: dict[str, dict[str, str]] = {
    f"{C}.services.base": {
        **{n: f"{S}.inputs" for n in ("MAX_ID", "check_text", "check_id", "check_unknown")},
        **{n: f"{S}.paging" for n in ("MAX_PAGE", "DEFAULT_PAGE", "check_limit", "id_cursor", "encode_cursor",
                                      "decode_cursor")},
        **{n: f"{S}.filters" for n in ("OPS", "typed_value", "custom_expr", "compare")},
        **{n: f"{C}.database.sql" for n in ("inserted_id", "insert_many", "by_id")},
        "read_connection": f"{C}.host.unit_of_work",
        "Service": f"{S}.service",
    },
    f"{C}.migrations": {"open_upgraded": f"{C}.crm"},
    "crmkit.web.operation": {n: "crmkit.web.schemas" for n in ("ID_SCHEMA", "INT32", "Schema")},
    "crmkit.web.resources.leads": {n: "crmkit.web.schemas" for n in ("REASON", "SOURCE")},
    f"{C}.migrations.startup": {"open_upgraded": f"{C}.crm", "model_metadatas": f"{C}.host.migrations.layout"},
    f"{C}.services.privacy": {"on_their_cards": f"{C}.domain.personal_data"},
    f"{C}.services.leads": {"SOURCE_PATTERN": f"{C}.domain.services.utm"},
    f"{C}.services.archive": {n: f"{S}.filters" for n in ("ARCHIVED_MODES", "archived_mode", "filter_archived")},
    f"{C}.services": {
        "Services": f"{S}.facade",
        "UserService": f"{S}.users", "LeadService": f"{S}.leads", "ContactService": f"{S}.contacts",
        "CompanyService": f"{S}.companies", "DealService": f"{S}.deals", "TaskService": f"{S}.tasks",
        "NoteService": f"{S}.notes", "TimelineService": f"{S}.timeline", "SearchService": f"{S}.search",
        "FileService": f"{S}.files",
    },
}
# names renamed inside a split (old name -> new name)
RENAMED = {f"{C}.services.leads": {"_SOURCE": "SOURCE_PATTERN"},
           f"{C}.services.base": {"_encode_cursor": "encode_cursor", "_decode_cursor": "decode_cursor",
                                  "_OPS": "OPS", "_typed": "typed_value", "_custom_expr": "custom_expr",
                                  "_compare": "compare"}}
# split modules whose file is gone (not moved)
GONE = {f"{C}.services.base", f"{C}.reports.tables"}

# tests: old path -> new path (tests mirror the package layout)
T = "tests"
TESTS: dict[str, str] = {}


def _tests(folder: str, *names: str) -> None:
    for n in names:
        TESTS[f"{T}/{n}.py"] = f"{T}/{folder}/{n}.py"


_tests("core/host", "test_plugin_host", "test_plugin_settings", "test_glue_plugins", "test_hook_calls",
       "test_hook_docs", "test_dispatcher", "test_delivery_once", "test_worker", "test_transactions",
       "test_unit_of_work_before_commit", "test_unit_of_work_events", "test_unit_of_work_limits")
_tests("core/host/migrations", "test_migrations", "test_migrations_0002", "test_migrations_plugin_release",
       "test_migrations_previous_release")
_tests("core/database", "test_database_unavailable", "test_crash_safety")
_tests("core", "test_settings_and_values")
_tests("core/domain", "test_access", "test_access_rules", "test_access_unassigned_cards", "test_auth",
       "test_auth_invalidation", "test_auth_passwords", "test_calendar", "test_custom_fields", "test_money",
       "test_task_closing", "test_messages", "test_input_hardening",
       "test_consistent_input")
_tests("core/domain/services", "test_archive", "test_board_cards", "test_contacts_leads_tasks",
       "test_deal_amounts", "test_deals", "test_deals_versions", "test_lead_assignment", "test_lists",
       "test_privacy", "test_search", "test_timelines", "test_files", "test_sales_flow")
_tests("core/domain/reports", "test_reports", "test_reports_hostile_input")
_tests("web", "test_api_authz", "test_api_cards", "test_api_demo_script", "test_api_document_conformance",
       "test_api_field_fuzz", "test_api_forms_plugins", "test_api_front_door", "test_api_hostile_input",
       "test_api_idempotency", "test_api_protocol", "test_api_schemathesis", "test_api_slow_clients",
       "test_api_users_security", "test_privacy_api_cli",
       "test_record_rules_security")  # beside test_api_authz, whose World it uses
_tests("cli", "test_cli_acting", "test_cli_hostile_input", "test_cli_parity", "test_cli_plugins",
       "test_cli_private_files", "test_cli_sales_flow", "test_cli_serve_workers", "test_cli_users_serve")
_tests("ui", "test_ui_board", "test_ui_catalog_extraction", "test_ui_http", "test_ui_money_format")
_tests("demo", "test_demo")
_tests("core/host", "test_delivery_modes")
_tests("core/domain/services", "test_task_add_many")
_tests("bench", "test_bench", "test_bench_board", "test_bench_startup", "test_bench_peers")
# tests/tenants/test_cli.py takes the basename: the CLI's own end-to-end test is renamed
TESTS[f"{T}/test_cli.py"] = f"{T}/cli/test_cli_end_to_end.py"
# whole test folders: old -> new
TEST_DIRS = {f"{T}/reports": f"{T}/core/domain/reports"}
# shared helpers stay at the top of tests/ (importable by bare name from every folder)
TESTS[f"{T}/test_api_helpers.py"] = f"{T}/api_helpers.py"

IMPORT_RENAMES = {"test_api_helpers": "api_helpers", "test_cli_plugins": "cli_helpers", "tests.test_cli": "cli_helpers", "test_cli": "cli_helpers",
                  "tests.test_cli_users_serve": "cli_helpers"}

TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".sh", ".yml", ".yaml", ".j2", ".html"}
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".hypothesis", ".pytest_cache"}
SKIP_TOP = {"build", "dist", "demo", "bench/results", "tests/fixtures"}  # fixtures: built by old releases


# -- names -----------------------------------------------------------------------------------------


def new_module(old: str) -> str | None:
    """The new dotted name of module ``old`` (or of a name in it; None: not moved). The longest
    moved module or package that ``old`` is, or is inside, decides."""
    best: tuple[str, str] | None = None
    for o, n in [*MODULES.items(), *PACKAGES.items()]:
        if (old == o or old.startswith(o + ".")) and (best is None or len(o) > len(best[0])):
            best = (o, n)
    return None if best is None else best[1] + old[len(best[0]):]


def old_module_of_new(new: str) -> str:
    for o, n in MODULES.items():
        if n == new:
            return o
    for op, np in PACKAGES.items():
        if new == np or new.startswith(np + "."):
            return op + new[len(np):]
    return new


def module_of_path(root: Path, path: Path) -> tuple[str, bool]:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def path_of_module(root: Path, module: str, is_pkg: bool) -> Path:
    p = root.joinpath(*module.split("."))
    return p / "__init__.py" if is_pkg else p.with_suffix(".py")


def all_old_modules(root: Path) -> set[str]:
    """Every module name that existed (or exists) in the old layout, as far as we can tell."""
    names = set(MODULES) | set(PACKAGES) | set(SPLITS)
    for p in (root / "crmkit").rglob("*.py"):
        mod, _ = module_of_path(root, p)
        names.add(old_module_of_new(mod))
    return names


# -- moves -----------------------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True)


def move_all(root: Path) -> None:
    moves: list[tuple[Path, Path]] = []
    for p in sorted((root / "crmkit" / "core").rglob("*.py")):
        mod, is_pkg = module_of_path(root, p)
        if mod in GONE:
            continue
        new = new_module(mod)
        if new:
            moves.append((p, path_of_module(root, new, is_pkg)))
    for old, new in TESTS.items():
        if (root / old).exists():
            moves.append((root / old, root / new))
    for old_dir, new_dir in TEST_DIRS.items():
        if (root / old_dir).is_dir():
            for f in sorted((root / old_dir).rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts:
                    moves.append((f, root / new_dir / f.relative_to(root / old_dir)))
    for src, dst in moves:
        if dst.exists():
            print(f"skip: {dst} exists", file=sys.stderr)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        git(root, "mv", str(src.relative_to(root)), str(dst.relative_to(root)))
    # new packages need an __init__ (written once, with a docstring; see make_inits)
    for d in (root / "crmkit" / "core").rglob("*"):
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists():
            print(f"note: {d} has no __init__.py", file=sys.stderr)
    # remove emptied old directories (only __pycache__ left)
    for op in PACKAGES:
        d = root.joinpath(*op.split("."))
        if d.exists() and not any(f for f in d.rglob("*.py")):
            subprocess.run(["rm", "-rf", str(d)], check=True)


# -- import rewriting ------------------------------------------------------------------------------


def resolve_relative(package: str, level: int, module: str | None) -> str:
    parts = package.split(".")
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def relative_to(package: str, target: str) -> tuple[int, str]:
    """``target`` written relative to ``package`` (level, module)."""
    p, t = package.split("."), target.split(".")
    common = 0
    while common < min(len(p), len(t)) and p[common] == t[common]:
        common += 1
    return len(p) - common + 1, ".".join(t[common:])


def map_name(src: str, name: str, known: set[str]) -> tuple[str, str]:
    """(new module, new name) of ``from src import name`` (``src`` in the old or the new layout)."""
    src = old_module_of_new(src)
    if src in SPLITS and name in SPLITS[src]:
        return SPLITS[src][name], name
    if src in RENAMED and name in RENAMED[src]:
        renamed = RENAMED[src][name]
        return SPLITS[src][renamed], renamed
    full = f"{src}.{name}"
    if full in known:
        mapped = new_module(full) or full
        parent, _, last = mapped.rpartition(".")
        return parent, last
    return new_module(src) or src, name


def map_dotted(dotted: str) -> str:
    """A dotted reference (module, module.attr...) in the new layout."""
    parts = dotted.split(".")
    for i in range(len(parts), 1, -1):
        head = old_module_of_new(".".join(parts[:i]))
        rest = parts[i:]
        if head in SPLITS and rest and (rest[0] in SPLITS[head] or rest[0] in RENAMED.get(head, {})):
            name = RENAMED.get(head, {}).get(rest[0], rest[0])
            return ".".join([SPLITS[head][name], name, *rest[1:]])
        if head in GONE and head not in MODULES:
            print(f"warning: {dotted}: {head} is split, fix by hand", file=sys.stderr)
            return dotted
    return new_module(dotted) or dotted


def format_from(indent: str, level: int, module: str, names: list[str]) -> str:
    head = f"{indent}from {'.' * level}{module} import "
    line = head + ", ".join(names)
    if len(line) <= 120:
        return line
    out = [head + "("]
    cur = indent + "    "
    for n in names:
        piece = n + ", "
        if len(cur) + len(piece) > 120 and cur.strip():
            out.append(cur.rstrip())
            cur = indent + "    "
        cur += piece
    if cur.strip():
        out.append(cur.rstrip())
    out.append(indent + ")")
    return "\n".join(out)


_PUBLIC: dict[str, tuple[str, str]] = {}


def _public_names(root: Path) -> dict[str, tuple[str, str]]:
    """crmkit's public names -> (the module crmkit/__init__.py imports each from, its name there)."""
    if not _PUBLIC:
        tree = ast.parse((root / "crmkit" / "__init__.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                src = resolve_relative("crmkit", node.level, node.module) if node.level else node.module or ""
                for a in node.names:
                    if f"{src}.{a.name}" in all_old_modules(root):  # a module: ``from crmkit import events``
                        continue
                    _PUBLIC[a.asname or a.name] = (src, a.name)
    return _PUBLIC


def rewrite_imports(root: Path, path: Path, text: str, known: set[str]) -> str:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        print(f"syntax error, skipped: {path}", file=sys.stderr)
        return text
    in_crmkit = path.is_relative_to(root / "crmkit")
    in_core = path.is_relative_to(root / "crmkit" / "core")
    cur_mod, is_pkg = module_of_path(root, path) if in_crmkit else ("", False)
    old_mod = old_module_of_new(cur_mod) if in_crmkit else ""
    old_pkg = old_mod if is_pkg else old_mod.rpartition(".")[0]
    cur_pkg = cur_mod if is_pkg else cur_mod.rpartition(".")[0]
    lines = text.split("\n")
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if not in_crmkit:
                    continue
                src = resolve_relative(old_pkg, node.level, node.module)
            else:
                src = node.module or ""
            public = _public_names(root) if in_crmkit and src == "crmkit" and path != root / "crmkit" / "__init__.py" else {}
            if public and any(a.name in public for a in node.names):
                # inside crmkit, a name of the public API is imported from where it is defined: crmkit's
                # __init__ imports the modules that would import it back (an import cycle)
                groups = {}
                for a in node.names:
                    mod, name = public[a.name] if a.name in public else map_name(src, a.name, known)
                    groups.setdefault(mod, []).append((name, a.asname or (a.name if name != a.name else None)))
            elif src in IMPORT_RENAMES and not in_crmkit:
                new_src = IMPORT_RENAMES[src]
                groups = {new_src: [(a.name, a.asname) for a in node.names]}
            elif not src.startswith("crmkit"):
                continue
            else:
                groups: dict[str, list[tuple[str, str | None]]] = {}
                for a in node.names:
                    mod, name = map_name(src, a.name, known)
                    asname = a.asname
                    if asname is None and name != a.name:
                        # a renamed module keeps its local name, except the tables (renamed below)
                        schema = a.name == "schema" and name == "tables"
                        asname = None if schema and path != root / "crmkit" / "__init__.py" else a.name
                    groups.setdefault(mod, []).append((name, asname))
            indent = lines[node.lineno - 1][: node.col_offset]
            stmts = []
            for mod, names in groups.items():
                rendered = [n if not asn or asn == n else f"{n} as {asn}" for n, asn in names]
                if in_core or not node.level or not mod.startswith("crmkit"):
                    level, modtext = 0, mod
                else:
                    level, modtext = relative_to(cur_pkg, mod)
                stmts.append(format_from(indent, level, modtext, rendered))
            new_text = ("\n".join(stmts)).lstrip()
            old_text = "\n".join(lines[node.lineno - 1: node.end_lineno])[node.col_offset:]
            if _same(old_text, new_text):
                continue
            if "#" in old_text and "\n" in old_text:
                print(f"warning: comment lost in {path}:{node.lineno}", file=sys.stderr)
            comment = ""
            last = lines[node.end_lineno - 1]
            if "#" in last[node.end_col_offset:]:
                comment = "  " + last[node.end_col_offset:].split("#", 1)[1].join(["#", ""])
            edits.append((node.lineno, node.end_lineno, indent + new_text + comment))
        elif isinstance(node, ast.Import):
            changed = False
            names = []
            for a in node.names:
                new = map_dotted(a.name) if a.name.startswith("crmkit") else IMPORT_RENAMES.get(a.name, a.name)
                changed |= new != a.name
                names.append(new if not a.asname else f"{new} as {a.asname}")
            if changed:
                indent = lines[node.lineno - 1][: node.col_offset]
                edits.append((node.lineno, node.end_lineno, f"{indent}import {', '.join(names)}"))
    for start, end, new in sorted(edits, reverse=True):
        lines[start - 1: end] = [new]
    return "\n".join(lines)


def _same(old: str, new: str) -> bool:
    return re.sub(r"[\s(),]", "", old.split("#")[0]) == re.sub(r"[\s(),]", "", new)


# -- text rewriting --------------------------------------------------------------------------------

DOTTED = re.compile(r"(?<![\w.])crmkit(?:\.\w+)+")
PATHS = re.compile(r"(?<![\w])crmkit/core/[\w/]*(?:\.py)?")


TEST_PATHS = re.compile("|".join(rf"(?<![\w/]){re.escape(old)}(?!\w)" for old in sorted(TESTS, key=len, reverse=True)))


def map_path(p: str) -> str:
    py = p.endswith(".py")
    body = p[:-3] if py else p.rstrip("/")
    trail = "/" if p.endswith("/") else ""
    dotted = body.replace("/", ".")
    is_init = dotted.endswith(".__init__")
    if is_init:
        dotted = dotted[: -len(".__init__")]
    if dotted in GONE:
        print(f"warning: path {p}: split module, fix by hand", file=sys.stderr)
        return p
    new = new_module(dotted)
    if not new:
        return p
    out = new.replace(".", "/")
    if is_init:
        out += "/__init__"
    return out + (".py" if py else trail)


def rewrite_text(path: Path, text: str, in_crmkit_py: bool) -> str:
    text = DOTTED.sub(lambda m: map_dotted(m.group(0)), text)
    text = PATHS.sub(lambda m: map_path(m.group(0)), text)
    text = TEST_PATHS.sub(lambda m: TESTS[m.group(0)], text)
    for old_dir, new_dir in TEST_DIRS.items():
        text = re.sub(rf"(?<![\w/]){re.escape(old_dir)}(?=/|\b)", new_dir, text)
    return text


def _uses_name(source: str, name: str) -> bool:
    """Whether ``name`` is a free identifier in ``source`` (not ``x.name``, not in strings or comments)."""
    try:
        prev = None
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and tok.string == name and not (prev is not None and prev.string == "."):
                return True
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                prev = tok
        return False
    except (tokenize.TokenError, SyntaxError):
        return True


def _rename_names(source: str, old: str, new: str) -> str:
    """Every identifier ``old`` (not an attribute ``x.old``, not in strings or comments) -> ``new``."""
    lines = source.split("\n")
    spots: list[tuple[int, int]] = []
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string == old and not (prev is not None and prev.string == "."):
            spots.append(tok.start)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            prev = tok
    for row, col in reversed(spots):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old):]
    return "\n".join(lines)


TABLES_IMPORT = re.compile(r"^(\s*from (?:crmkit|\.*)\.?core\.database import tables)$", re.M)


def rename_schema(path: Path, text: str, original: str) -> str:
    """The tables module is imported as ``tables``: ``schema`` (its old name) -> ``tables``
    (``core_tables`` where the module already uses the word ``tables``). ``crmkit/__init__.py``
    keeps ``schema``, the public name."""
    if path.name == "__init__.py" and path.parent.name == "crmkit":
        return text
    text = re.sub(r"^(\s*from (?:crmkit|\.*)\.?core\.database import tables) as schema$", r"\1", text, flags=re.M)
    in_fstrings = re.compile(r"(?<=\{)schema\.(?=\w)")  # f"... {schema.files.name}": one STRING token
    if TABLES_IMPORT.search(text) and (_uses_name(text, "schema") or in_fstrings.search(text)):
        # "tables", unless the module used that word for something else before it imported the tables
        name = "core_tables" if _uses_name(original, "tables") and not TABLES_IMPORT.search(original) else "tables"
        if name != "tables":
            text = TABLES_IMPORT.sub(r"\1 as core_tables", text)
        text = _rename_names(text, "schema", name)
        text = in_fstrings.sub(name + ".", text)
    if "import tables as core_schema" in text:
        text = text.replace("import tables as core_schema", "import tables as core_tables")
        text = _rename_names(text, "core_schema", "core_tables")
    return text


def sort_first_party(text: str) -> str:
    """Runs of adjacent crmkit imports (``from crmkit.x`` / ``from .x``), at module level or under
    ``if TYPE_CHECKING:``, sorted by module (relative ones: outer packages first)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.split("\n")
    bodies = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.If)]
    edits = []
    for body in bodies:
        run: list[ast.ImportFrom] = []
        for node in body + [None]:
            first_party = (isinstance(node, ast.ImportFrom)
                           and (node.level > 0 or (node.module or "").startswith("crmkit"))
                           and "#" not in "".join(lines[node.lineno - 1: node.end_lineno])[:0])
            if first_party and (not run or node.lineno == run[-1].end_lineno + 1):
                run.append(node)
                continue
            if len(run) > 1:
                edits.append(run)
            run = [node] if first_party else []
    for run in sorted(edits, key=lambda r: -r[0].lineno):
        chunks = ["\n".join(lines[n.lineno - 1: n.end_lineno]) for n in run]
        keys = [(-n.level, n.module or "") for n in run]
        ordered = [c for _, c in sorted(zip(keys, chunks), key=lambda kc: kc[0])]
        if ordered != chunks:
            lines[run[0].lineno - 1: run[-1].end_lineno] = "\n".join(ordered).split("\n")
    return "\n".join(lines)


def files(root: Path, only: list[str]) -> list[Path]:
    out = []
    bases = [root / o for o in only] if only else [root]
    for base in bases:
        if base.is_file():
            out.append(base)
            continue
        for p in base.rglob("*"):
            rel = p.relative_to(root)
            if (p.is_file() and p.suffix in TEXT_SUFFIXES and not (set(rel.parts) & SKIP_DIRS)
                    and not any(str(rel).startswith(t + "/") for t in SKIP_TOP)
                    and not any(part.endswith(".egg-info") for part in rel.parts)):
                out.append(p)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-move", action="store_true")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()
    root = Path.cwd()
    known = all_old_modules(root)
    if not args.no_move:
        move_all(root)
    known |= all_old_modules(root)
    changed = 0
    for p in files(root, args.paths):
        if p.resolve() == Path(__file__).resolve():
            continue
        text = p.read_text()
        new = text
        if p.suffix == ".py":
            new = rewrite_imports(root, p, new, known)
        new = rewrite_text(p, new, p.suffix == ".py")
        if p.suffix == ".py":
            new = rename_schema(p, new, text)
        if p.suffix == ".py" and p.is_relative_to(root / "crmkit"):
            new = sort_first_party(new)
        if new != text:
            p.write_text(new)
            changed += 1
    print(f"rewrote {changed} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
