"""Module-level import graph of crmkit (ast), cycles via Tarjan."""
import ast, sys
from pathlib import Path
ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
pkg = ROOT / "crmkit"
mods = {}
for p in pkg.rglob("*.py"):
    rel = p.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg: parts = parts[:-1]
    mods[".".join(parts)] = (p, is_pkg)
def resolve(name):
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None
graph = {m: set() for m in mods}
import os
ALL = os.environ.get("ALL") == "1"
PARENTS = os.environ.get("PARENTS") == "1"
LAZY = []
lazy = 0
for m, (p, is_pkg) in mods.items():
    tree = ast.parse(p.read_text())
    base = m if is_pkg else m.rpartition(".")[0]
    def visit(node, top):
        global lazy
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(ch, False); continue
            if isinstance(ch, ast.If) and isinstance(ch.test, ast.Name) and ch.test.id == "TYPE_CHECKING":
                continue
            if isinstance(ch, ast.If) and isinstance(ch.test, ast.Attribute) and ch.test.attr == "TYPE_CHECKING":
                continue
            targets = []
            if isinstance(ch, ast.Import):
                targets = [a.name for a in ch.names]
            elif isinstance(ch, ast.ImportFrom):
                if ch.level:
                    b = base.split(".")
                    b = b[:len(b) - (ch.level - 1)]
                    src = ".".join(b + ([ch.module] if ch.module else []))
                else:
                    src = ch.module
                targets = [(src + "." + a.name) if (src + "." + a.name) in mods else src for a in ch.names]
            for t in targets:
                if t and t.startswith("crmkit"):
                    r = resolve(t)
                    if r and r != m:
                        if top or ALL:
                            graph[m].add(r)
                            if PARENTS:
                                parts = r.split(".")
                                for i in range(1, len(parts)):
                                    anc = ".".join(parts[:i])
                                    if anc in mods and not (m + ".").startswith(anc + "."):
                                        graph[m].add(anc)
                        if not top: lazy += 1; LAZY.append((m, r))
            visit(ch, top)
    visit(tree, True)
# tarjan
sys.setrecursionlimit(10000)
idx = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in graph[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
for v in graph:
    if v not in idx: sc(v)
print("lazy imports:", lazy)
for s in sccs:
    print(len(s), s)
    for a in s:
        print("   ", a, "->", sorted(x for x in graph[a] if x in s))
if os.environ.get("SHOWLAZY"):
    # lazy edges that close a cycle over module-level edges
    top = {}
    # recompute module-level reachability using graph without lazy (requires ALL=0)
    def reach(a, b):
        seen = {a}; todo = [a]
        while todo:
            x = todo.pop()
            if x == b: return True
            for y in graph[x]:
                if y not in seen: seen.add(y); todo.append(y)
        return False
    n = 0
    for m, r in sorted(set(LAZY)):
        if reach(r, m):
            n += 1; print("CYCLE-LAZY", m, "->", r)
        elif os.environ.get("SHOWLAZY") == "2":
            print("lazy", m, "->", r)
    print("cycle-closing lazy:", n)
