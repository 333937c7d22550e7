"""The architecture, kept true: the allowed arrows between packages and the "nevers".

Every import of every module is read from its source (module-level and inside
functions alike, ``TYPE_CHECKING`` blocks included), so an import tucked into a
function to dodge a cycle counts like any other. ``docs/architecture.md`` draws the
same picture; when a rule here changes, that page changes with it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Every top-level package, from the ground floor up, with the packages it may import.
#: (Third-party libraries are governed by the "nevers" below, not by this table.)
ALLOWED: Mapping[str, frozenset[str]] = {
    "config": frozenset(),
    "core": frozenset({"config"}),
    "flows": frozenset({"core"}),
    "ledger": frozenset({"core"}),
    "workers": frozenset({"config", "core", "flows"}),
    "tasks": frozenset({"config", "core", "ledger", "workers", "flows"}),
    "payouts": frozenset({"config", "core", "ledger", "workers", "flows"}),
    # Impact surveys and the report: reads wages and answers (tasks), pays fees (ledger).
    "impact": frozenset({"config", "core", "ledger", "workers", "tasks"}),
    "gateway": frozenset({"config", "core", "flows", "workers"}),
    "api": frozenset({"config", "core", "ledger", "tasks", "payouts", "workers", "impact"}),
    "console": frozenset(
        {"config", "core", "flows", "ledger", "workers", "tasks", "payouts", "gateway", "impact"}
    ),
    "demo": frozenset(
        {"config", "core", "ledger", "workers", "tasks", "payouts", "console", "impact"}
    ),
    "kazi": frozenset(
        {
            "config",
            "core",
            "flows",
            "ledger",
            "workers",
            "tasks",
            "payouts",
            "impact",
            "gateway",
            "api",
            "console",
            "demo",
        }
    ),
    "migrations": frozenset({"config", "core", "kazi"}),
    "bench": frozenset(
        {"config", "core", "ledger", "workers", "tasks", "payouts", "gateway", "kazi"}
    ),
}
PACKAGES = frozenset(ALLOWED)
DOMAINS = frozenset({"workers", "ledger", "tasks", "payouts", "impact", "gateway"})
WEB = frozenset({"flask", "werkzeug", "flask_login", "flask_wtf", "jinja2", "markupsafe"})
IO = frozenset(
    {"sqlalchemy", "redis", "rq", "requests", "urllib3", "http", "socket", "psycopg", "alembic"}
)

#: Modules of a domain that stand at its edge and may use Flask: its HTTP views, its
#: commands, and the terminal phone that drives the app's own routes.
EDGE_MODULES = frozenset({"views", "cli", "simulated_phone"})

#: Import cycles inside a package that are allowed, each with the reason. None today.
JUSTIFIED_CYCLES: Mapping[frozenset[str], str] = {}


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, and whether at module level."""

    importer: str  # dotted module name, e.g. "gateway.services"
    imported: str  # dotted name as written, e.g. "workers.services"
    module_level: bool
    line: int

    @property
    def target_package(self) -> str:
        return self.imported.split(".")[0]

    @property
    def importer_package(self) -> str:
        return self.importer.split(".")[0]

    def __str__(self) -> str:
        path = self.importer.replace(".", "/")
        return f"{path}.py:{self.line} imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str | None = None) -> list[Import]:
    """Every import in one source file (level-0 imports; Kazi uses no relative ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = name or module_name(path)
    top_level = {id(node) for node in tree.body}
    # Imports under a module-level ``if`` (TYPE_CHECKING) or ``try`` count as module level.
    for statement in tree.body:
        if isinstance(statement, ast.If | ast.Try):
            top_level.update(id(child) for child in ast.walk(statement))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            targets = [node.module or ""]
            # "from gateway import conversation" imports the module gateway.conversation.
            targets += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            found.append(Import(name, target, id(node) in top_level, node.lineno))
    return found


def source_files() -> list[Path]:
    files = [REPO / "wsgi.py"]
    for package in sorted(PACKAGES):
        files += sorted(p for p in (REPO / package).rglob("*.py") if ".venv" not in p.parts)
    return files


@pytest.fixture(scope="module")
def all_imports() -> list[Import]:
    return [imp for path in source_files() for imp in imports_of(path)]


def in_package(imports: Iterable[Import], package: str) -> list[Import]:
    return [i for i in imports if i.importer_package == package]


def violations(imports: Iterable[Import], forbidden: Iterable[str]) -> list[str]:
    banned = frozenset(forbidden)
    return [str(i) for i in imports if i.target_package in banned]


# -- the allowed arrows ----------------------------------------------------------------


def test_every_package_imports_only_the_packages_below_it(all_imports: list[Import]) -> None:
    wrong = [
        str(i)
        for i in all_imports
        if i.importer_package in PACKAGES
        and i.target_package in PACKAGES
        and i.target_package != i.importer_package
        and i.target_package not in ALLOWED[i.importer_package]
    ]
    assert wrong == []


def test_the_allowed_arrows_have_no_cycle() -> None:
    assert find_cycles({p: set(ALLOWED[p]) for p in PACKAGES}) == []


def test_no_module_level_import_cycle_inside_a_package(all_imports: list[Import]) -> None:
    modules = {module_name(p) for p in source_files()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in all_imports:
        if imp.module_level and imp.imported in modules and imp.imported != imp.importer:
            graph[imp.importer].add(imp.imported)
    cycles = [c for c in find_cycles(graph) if frozenset(c) not in JUSTIFIED_CYCLES]
    assert cycles == []


# -- the nevers --------------------------------------------------------------------------


def test_core_is_the_ground_floor(all_imports: list[Import]) -> None:
    assert violations(in_package(all_imports, "core"), PACKAGES - {"core", "config"}) == []


def test_flows_is_pure(all_imports: list[Import]) -> None:
    """No Flask, no database, no I/O, no domain: only the ground floor's pure modules."""
    flows = in_package(all_imports, "flows")
    assert violations(flows, WEB | IO | (PACKAGES - {"flows", "core"})) == []
    pure_core = ("core.errors", "core.medium", "core.money")
    impure = [
        str(i)
        for i in flows
        if i.target_package == "core"
        and not any(i.imported == m or i.imported.startswith(m + ".") for m in pure_core)
    ]
    assert impure == []


def test_domain_services_import_no_flask(all_imports: list[Import]) -> None:
    inner = [
        i
        for i in all_imports
        if i.importer_package in DOMAINS and i.importer.split(".")[-1] not in EDGE_MODULES
    ]
    assert violations(inner, WEB) == []


def test_the_ledger_knows_only_accounts(all_imports: list[Import]) -> None:
    assert violations(in_package(all_imports, "ledger"), PACKAGES - {"ledger", "core"}) == []


def test_gateway_providers_import_no_domain(all_imports: list[Import]) -> None:
    providers = [i for i in all_imports if i.importer.startswith("gateway.providers")]
    assert violations(providers, DOMAINS - {"gateway"}) == []


def test_the_gateway_reaches_tasks_and_payouts_only_through_the_intent_host(
    all_imports: list[Import],
) -> None:
    assert violations(in_package(all_imports, "gateway"), {"tasks", "payouts", "ledger"}) == []


def test_tasks_and_payouts_never_import_the_gateway(all_imports: list[Import]) -> None:
    for package in ("tasks", "payouts"):
        assert violations(in_package(all_imports, package), {"gateway"}) == []


def test_services_never_import_a_jobs_module(all_imports: list[Import]) -> None:
    """Jobs are queued by dotted name; only commands, the wiring and benchmarks call them."""
    callers = {"cli"}
    wrong = [
        str(i)
        for i in all_imports
        if i.imported.endswith(".jobs")
        and i.imported != "core.jobs"  # the queue itself
        and i.importer_package in DOMAINS | {"api", "console", "demo", "flows", "core"}
        and i.importer.split(".")[-1] not in callers
    ]
    assert wrong == []


# -- jobs named by dotted path -----------------------------------------------------------


def queued_job_names() -> set[tuple[str, str]]:
    """(where, dotted name) of every job a module queues by a literal name."""
    found = set()
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            position = {"enqueue": 1, "JobSpec": 0}.get(called)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add((f"{module_name(path)}:{node.lineno}", arg.value))
    return found


def test_every_queued_job_name_is_a_function_in_a_jobs_module() -> None:
    names = queued_job_names()
    assert len(names) >= 10  # the scan found the real call sites
    for where, dotted in sorted(names):
        module, _, function = dotted.rpartition(".")
        assert module.endswith(".jobs"), f"{where}: {dotted} is not in a jobs module"
        target = getattr(importlib.import_module(module), function, None)
        assert inspect.isfunction(target), f"{where}: {dotted} is no function"


# -- the checker itself can fail ---------------------------------------------------------


def find_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_checker_finds_what_it_must(tmp_path: Path) -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import flask\n"
        "if TYPE_CHECKING:\n    from tasks import models\n"
        "def later():\n    from payouts.jobs import submit_payout\n",
        encoding="utf-8",
    )
    found = [
        (i.imported, i.module_level)
        for i in imports_of(source, "sample")
        if i.imported.split(".")[0] != "typing"
    ]
    assert ("flask", True) in found and ("tasks.models", True) in found
    assert ("payouts.jobs.submit_payout", False) in found
    assert violations([Import("gateway.x", "payouts.jobs", False, 1)], {"payouts"})
