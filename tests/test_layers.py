"""The layers of `hub/` (docs/architecture.md): a package imports only from its own layer or
those below it, and no two packages of one layer import each other.

The imports that still break the rule are listed in `DEBT`, each with the work that removes
it. The test fails on any new one, and on a listed one that is gone (take it off the list), so
the list only shrinks. Imports made only for type checking count: a cycle in types is a cycle
in design.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

HUB = Path(__file__).parents[1] / "hub"

# lowest first; docs/architecture.md says what each holds and the rule it must not break
LAYERS: list[tuple[str, ...]] = [
    # the kernel: settings, time, storage, keys, the policy and HTTP plumbing
    (
        "clock",
        "wording",
        "settings",
        "settings_doc",
        "policy",
        "db",
        "crypto",
        "api",
        "services",
        "__init__",
    ),
    # infrastructure: the audit log, the outbox, the worker, operations
    ("audit", "outbox", "worker", "ops"),
    # the connector plugins: channels, wire formats, signing, the guarded HTTP client
    ("connectors",),
    # who: organisations, then their clients (the OAuth server), then their people
    ("organizations",),
    ("auth",),
    ("users",),
    # who is calling: a request's principal (a client, or a person on its behalf) and its scopes
    ("access",),
    # what is held: cases, consent and its gate, the legal bases beside it, disclosures, reviews;
    # the directory of partners and the directory of their services; the notifications to people
    (
        "cases",
        "consent",
        "legal_bases",
        "disclosures",
        "reviews",
        "directory",
        "service_directory",
        "notifications",
    ),
    # how requests move: tables, history, what a review's decision does
    ("lifecycle",),
    # the requests
    ("referrals", "transfers"),
    # what spans the requests: erasing a case cancels those still under review; reports count them
    # closing a case cancels the open requests its owner chooses to cancel
    ("erasure", "closure", "reports"),
    # the hub's own retention: closed cases past their period go by the erasure above
    ("retention",),
    # getting them to partners: the delivery workflow (it hands the plugins plain data)
    ("delivery",),
    # the faces and the composition root
    ("console", "demo", "fhir", "app", "wiring", "runtime", "models", "cli", "migrations"),
]

DEBT: dict[tuple[str, str], str] = {}


def _package(path: Path) -> str:
    parts = path.relative_to(HUB).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports() -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in HUB.rglob("*.py"):
        source = _package(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = (
                    [f"hub.{a.name}" for a in node.names] if node.module == "hub" else [node.module]
                )
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "hub" and len(parts) > 1 and parts[1] != source:
                    target = "__init__" if parts[1] == "__version__" else parts[1]
                    found[(source, target)].add(str(path.relative_to(HUB.parent)))
    return found


def _rank() -> dict[str, int]:
    return {package: i for i, layer in enumerate(LAYERS) for package in layer}


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in HUB.rglob("*.py")}
    assert packages - set(_rank()) == set()


def test_imports_go_down_the_layers() -> None:
    rank = _rank()
    imports = _imports()
    against = {
        (a, b)
        for (a, b) in imports
        if rank[b] > rank[a] or (rank[a] == rank[b] and (b, a) in imports)
    }
    new = {edge: sorted(imports[edge]) for edge in sorted(against - set(DEBT))}
    assert not new, f"imports against the layers (docs/architecture.md): {new}"
    paid = sorted(set(DEBT) - against)
    assert not paid, f"no longer imported, take them off DEBT: {paid}"


def test_infrastructure_imports_no_domain() -> None:
    infrastructure = {"db", "crypto", "audit", "outbox", "worker", "api", "ops"}
    kernel_and_infra = set(LAYERS[0]) | set(LAYERS[1])
    wrong = {
        (a, b)
        for (a, b) in _imports()
        if a in infrastructure and b not in kernel_and_infra and (a, b) not in DEBT
    }
    assert not wrong


def test_referrals_and_transfers_do_not_import_each_other() -> None:
    imports = _imports()
    assert ("referrals", "transfers") not in imports
    assert ("transfers", "referrals") not in imports


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the packages along it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_package_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in _imports():
        graph[a].add(b)
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_a_cycle_is_found() -> None:
    # the finder itself can fail: a three-package loop inside one layer
    assert _cycle({"cases": {"consent"}, "consent": {"reviews"}, "reviews": {"cases"}}) == [
        "cases",
        "consent",
        "reviews",
        "cases",
    ]
    assert _cycle({"cases": {"consent"}, "consent": set()}) is None
