"""Fail when modules of the package import each other in a cycle.

import-linter's contracts say which layer may import which; a cycle between
two modules of the same layer slips through them, so this walks the whole
import graph (the one import-linter builds, through grimp) and reports every
strongly connected group of modules. Every import counts, those under
``if TYPE_CHECKING:`` and inside functions too: a cycle a type checker needs is
still two modules that cannot be read, or moved, one without the other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import grimp

PACKAGE = "odyssey_jupyter"


def _strongly_connected(nodes: Iterable[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is small but recursion is not needed)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def import_cycles() -> list[list[str]]:
    """Every group of package modules that import one another, directly or not."""
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=False, cache_dir=None)
    modules = {module for module in graph.modules if module.startswith(PACKAGE)}
    edges = {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported in modules and not module.startswith(imported + ".")
        }
        for module in modules
    }
    return _strongly_connected(modules, edges)


def main() -> int:
    cycles = import_cycles()
    for group in cycles:
        print(f"import cycle between {len(group)} modules: {', '.join(group)}", file=sys.stderr)
    if cycles:
        return 1
    print(f"no import cycles in {PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
