"""Mutation testing (cosmic-ray) of the code whose mistakes cost the most: record rules, the unit of
work, idempotency, the telephony signature checks and money.

    .venv/bin/python scripts/mutation.py                     # every target, 2 at a time
    .venv/bin/python scripts/mutation.py money idempotency   # some of them
    .venv/bin/python scripts/mutation.py --list              # the mutants each target would get

Each target runs in a copy of the working tree of its own (nothing here edits the checkout): the
copy's module is mutated one mutation at a time and the target's tests run against it (SQLite
only; the PostgreSQL runs test the same code). A mutant is *killed* when a test fails, *survives*
when they all pass. The mutations: cosmic-ray's operators, one per site where it offers many (a
comparison becomes its negation, ``|`` becomes ``&``, ``+`` becomes ``-``), numbers, ``not``,
``and``/``or``, booleans, exceptions, decorators, loops. The figures and every survivor (file,
line, operator, the mutated line) go to ``bench/results/mutation.json``; docs/reliability.md
explains the survivors. Needs ``pip install -e '.[deep]'`` (cosmic-ray).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "mutation.json"


class Target(NamedTuple):
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # only mutations inside these functions (empty: the whole module)
    timeout: float = 120.0
    pytest_args: tuple[str, ...] = ()


TELEPHONY = "plugins/telephony/crmkit_telephony/providers"
TARGETS: dict[str, Target] = {
    "access": Target("crmkit/core/access.py", (
        "tests/test_access_rules.py", "tests/test_access.py", "tests/test_record_rules_security.py",
        "tests/test_access_unassigned_cards.py"), pytest_args=("--deselect",
        "tests/test_record_rules_security.py::test_every_card_method_is_in_the_table")),
    "unit_of_work": Target("crmkit/core/unit_of_work.py", (
        "tests/test_unit_of_work_before_commit.py", "tests/test_unit_of_work_limits.py",
        "tests/test_unit_of_work_events.py", "tests/test_transactions.py", "tests/test_api_idempotency.py",
        "tests/test_delivery_once.py")),
    "idempotency": Target("crmkit/web/idempotency.py", (
        "tests/test_api_idempotency.py", "tests/test_api_protocol.py"), pytest_args=("-k", "idempot")),
    "money": Target("crmkit/core/money.py", ("tests/test_money.py", "tests/test_settings_and_values.py")),
    "signature_generic": Target(f"{TELEPHONY}/generic.py", (
        "plugins/telephony/tests/test_telephony_webhooks.py", "plugins/telephony/tests/test_telephony_hardening.py",
        "plugins/telephony/tests/test_telephony_signature_edges.py"), functions=("sign", "_secret", "verify")),
    "signature_twilio": Target(f"{TELEPHONY}/twilio.py", (
        "plugins/telephony/tests/test_telephony_webhooks.py", "plugins/telephony/tests/test_telephony_hardening.py",
        "plugins/telephony/tests/test_telephony_signature_edges.py"), functions=("signature", "_url_variants",
                                                                                  "parse_webhook")),
    "signature_compare": Target(f"{TELEPHONY}/__init__.py", (
        "plugins/telephony/tests/test_telephony_webhooks.py", "plugins/telephony/tests/test_telephony_hardening.py"),
        functions=("same_signature",)),
}

_NEGATION = {"Eq": "NotEq", "NotEq": "Eq", "Lt": "GtE", "LtE": "Gt", "Gt": "LtE", "GtE": "Lt", "Is": "IsNot",
             "IsNot": "Is", "In": "NotIn", "NotIn": "In"}
_BINARY = {"Add": "Sub", "Sub": "Add", "Mul": "Div", "Div": "Mul", "FloorDiv": "Mul", "Mod": "FloorDiv",
           "Pow": "Mul", "BitOr": "BitAnd", "BitAnd": "BitOr", "BitXor": "BitOr", "LShift": "RShift",
           "RShift": "LShift"}


def wanted(operator: str) -> bool:
    """One mutation per site where cosmic-ray offers every variant."""
    name = operator.split("/")[-1]
    kind, _, pair = name.partition("_")
    if kind == "ReplaceComparisonOperator":
        a, _, b = pair.partition("_")
        return _NEGATION.get(a) == b
    if kind == "ReplaceBinaryOperator":
        a, _, b = pair.partition("_")
        return _BINARY.get(a) == b
    return True


def function_lines(path: Path, names: tuple[str, ...]) -> list[tuple[int, int]]:
    tree = ast.parse(path.read_text())
    return [(node.lineno, node.end_lineno or node.lineno) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names]


def inert_lines(path: Path) -> set[tuple[int, str]]:
    """(line, operator kind) pairs whose mutants cannot change behaviour, left out: ``|`` in type
    annotations on ``def`` lines (not evaluated: ``from __future__ import annotations``), the
    ``if TYPE_CHECKING:`` import blocks, and SQLAlchemy ``Table(...)`` declarations (the schema is made
    by the migrations; these only name the columns for queries)."""
    tree = ast.parse(path.read_text())
    out: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0].lineno if node.body else node.lineno
            out.update((line, "ReplaceBinaryOperator") for line in range(node.lineno, first))
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            out.update((line, kind) for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
                       for kind in ("AddNot", "ReplaceBinaryOperator"))
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
              and getattr(node.value.func, "id", None) == "Table"):
            out.update((line, kind) for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
                       for kind in ("NumberReplacer", "ReplaceTrueWithFalse", "ReplaceFalseWithTrue"))
        elif isinstance(node, ast.AnnAssign) and node.value is None:
            out.add((node.lineno, "ReplaceBinaryOperator"))
    return out


def copy_tree(dest: Path, *, head: bool = False) -> None:
    if head:  # the last commit, without the uncommitted changes in the checkout
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if src.is_file() and not rel.startswith(("bench/results/", "demo/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def tests_of(target: Target, tree: Path) -> list[str]:
    return [t for t in target.tests if (tree / t).exists()]


def environment(tree: Path) -> dict[str, str]:
    paths = [tree, tree / "plugins" / "installments", tree / "plugins" / "telephony",
             tree / "tests" / "plugins" / "crmkit-testplugins"]
    env = {k: v for k, v in os.environ.items() if k != "CRMKIT_TEST_POSTGRES_URL"}
    env["PYTHONPATH"] = os.pathsep.join(map(str, paths))
    return env


def prepare(name: str, target: Target, work: Path, head: bool = False) -> tuple[Path, Path, Path]:
    tree = work / name
    tree.mkdir(parents=True)
    copy_tree(tree, head=head)
    command = " ".join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *target.pytest_args,
                        *tests_of(target, tree)])
    config = work / f"{name}.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target.module}"\n'
        f"timeout = {target.timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        '[cosmic-ray.distributor]\nname = "local"\n')
    session = work / f"{name}.sqlite"
    subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "init", str(config), str(session)], cwd=tree,
                   check=True, capture_output=True, env=environment(tree))
    lines = function_lines(tree / target.module, target.functions) if target.functions else []
    inert = inert_lines(tree / target.module)
    with sqlite3.connect(session) as db:
        drop = []
        for job, operator, row in db.execute("SELECT job_id, operator_name, start_pos_row FROM mutation_specs"):
            inside = not lines or any(a <= row <= b for a, b in lines)
            if not (wanted(operator) and inside) or (row, operator.split("/")[-1].split("_")[0]) in inert:
                drop.append((job,))
        db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", drop)
        db.executemany("DELETE FROM work_items WHERE job_id = ?", drop)
    return tree, config, session


def refresh(name: str, target: Target, work: Path) -> tuple[Path, Path, Path]:
    """A finished target again: the copy brought to the last commit (new tests that kill survivors),
    the survivors' results dropped, the test command rewritten; then only those run again. The
    mutated module must be the one the first pass mutated (the mutations are kept by position)."""
    tree, config, session = work / name, work / f"{name}.toml", work / f"{name}.sqlite"
    before = (tree / target.module).read_text()
    copy_tree(tree, head=True)
    if (tree / target.module).read_text() != before:
        raise SystemExit(f"{target.module} changed since the first pass: run {name} afresh (without --resume)")
    text = config.read_text()
    command = " ".join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *target.pytest_args,
                        *tests_of(target, tree)])
    config.write_text("\n".join(f"test-command = {json.dumps(command)}" if line.startswith("test-command") else line
                                for line in text.splitlines()) + "\n")
    with sqlite3.connect(session) as db:
        db.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")
    return tree, config, session


def run(name: str, target: Target, work: Path, head: bool = False, resume: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    tree, config, session = refresh(name, target, work) if resume else prepare(name, target, work, head)
    baseline = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *target.pytest_args,
         *tests_of(target, tree)], cwd=tree,
        capture_output=True, text=True, env=environment(tree))
    if baseline.returncode != 0:
        return {"target": name, "error": "the tests fail without any mutation", "output": baseline.stdout[-2000:]}
    subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "exec", str(config), str(session)], cwd=tree,
                   check=True, capture_output=True, env=environment(tree))
    source = (tree / target.module).read_text().splitlines()
    result: dict[str, Any] = {"target": name, "module": target.module, "killed": 0, "survived": 0,
                              "incompetent": 0, "survivors": []}
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT s.operator_name, s.start_pos_row, r.test_outcome, r.worker_outcome FROM mutation_specs s "
            "JOIN work_results r ON r.job_id = s.job_id ORDER BY s.start_pos_row").fetchall()
    for operator, row, outcome, worker in rows:
        outcome = (outcome or "").lower()
        key = outcome if outcome in ("killed", "survived") else "incompetent"
        result[key] += 1
        if outcome == "survived":
            result["survivors"].append({"line": row, "operator": operator.split("/")[-1],
                                        "code": source[row - 1].strip() if row <= len(source) else ""})
    result["mutants"] = len(rows)
    result["seconds"] = round(time.monotonic() - started)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--jobs", type=int, default=2, help="targets run at once (each in its own copy)")
    parser.add_argument("--list", action="store_true", help="count the mutants of each target, run nothing")
    parser.add_argument("--head", action="store_true", help="mutate the last commit, not the checkout")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work", type=Path, help="keep the copies and sessions here (default: a temporary folder)")
    parser.add_argument("--resume", action="store_true",
                        help="with --work: run the survivors of the last run again, with the checkout's tests")
    args = parser.parse_args(argv)
    names = args.targets or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    with tempfile.TemporaryDirectory(prefix="crmkit-mutation-") as tmp:
        work = args.work or Path(tmp)
        if args.resume and args.work is None:
            parser.error("--resume needs --work (the folder of the run to resume)")
        if args.work is not None and not args.resume:
            shutil.rmtree(args.work, ignore_errors=True)
        if args.list:
            for name in names:
                _, _, session = prepare(name, TARGETS[name], work, args.head)
                with sqlite3.connect(session) as db:
                    print(f"{name}: {db.execute('SELECT count(*) FROM work_items').fetchone()[0]} mutants")
            return 0
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(lambda n: run(n, TARGETS[n], work, args.head, args.resume), names))
    killed = sum(r.get("killed", 0) for r in results)
    survived = sum(r.get("survived", 0) for r in results)
    for r in results:
        if "error" in r:
            print(f"{r['target']}: {r['error']}\n{r['output']}")
            continue
        print(f"{r['target']:<18} {r['mutants']:>4} mutants  {r['killed']:>4} killed  {r['survived']:>3} survived  "
              f"{r['incompetent']:>3} incompetent  ({r['seconds']} s)")
        for s in r["survivors"]:
            print(f"    {r['module']}:{s['line']}  {s['operator']}  {s['code'][:90]}")
    print(f"total: {killed} killed, {survived} survived")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    old.update({r["target"]: r for r in results})
    args.out.write_text(json.dumps(old, indent=2, sort_keys=True))
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
