"""The layout: no import cycles (imports inside functions included), one subpackage per stage, a thin CLI."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pyserini_xqg"
STAGES = ("io", "encode", "translate", "generate", "perturb", "index", "search", "eval", "train", "robustness", "engines",
          "apps")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the plugin modules it imports, anywhere in its body."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = node.module if node.level == 0 else ".".join(p for p in (base, node.module) if p)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in modules else target)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = import_graph()
    assert "pyserini_xqg.search.dense" in graph["pyserini_xqg.search.systems"]  # the graph sees real imports
    assert cycles(graph) == []


def stage_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def stages_reached(graph: dict[str, set[str]], stage: str) -> set[str]:
    """The stages that ``stage``'s modules import, directly or through others."""
    seen, todo = set(), [m for m in graph if stage_of(m) == stage]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += graph[module]
    return {stage_of(m) for m in seen} - {stage}


def imports_of(graph: dict[str, set[str]], stage: str) -> set[str]:
    """The stages that ``stage``'s own modules import directly."""
    return {stage_of(e) for m, edges in graph.items() if stage_of(m) == stage for e in edges} - {stage}


def test_translation_sits_below_generate_and_robustness():
    assert not stages_reached(import_graph(), "translate") & {"generate", "perturb", "robustness"}


def test_perturbation_sits_below_index_train_and_robustness():
    graph = import_graph()
    for user in ("index", "train", "robustness"):  # the rule is live: each does perturb text
        assert "perturb" in imports_of(graph, user), user
    assert not stages_reached(graph, "perturb") & {"index", "train", "robustness"}
    assert stages_reached(graph, "perturb") <= {"io", "encode", "translate", "jvm"}


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_one_subpackage_per_stage_each_with_its_cli():
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").exists(), stage
    for stage in ("io", "encode", "generate", "index", "search", "eval", "train", "robustness", "apps"):
        assert (PACKAGE / stage / "cli.py").exists(), stage
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py", "cli.py", "jvm.py"]


def test_main_is_a_table_of_commands():
    tree = ast.parse((PACKAGE / "__main__.py").read_text(encoding="utf-8"))
    functions = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert functions == ["main"] and len((PACKAGE / "__main__.py").read_text().splitlines()) < 80
