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

import grimp

PACKAGE = "odyssey_jupyter"


def import_cycles() -> list[list[str]]:
    """Every group of package modules that import one another, directly or not.

    Two modules share a group when each reaches the other through imports; grimp
    (import-linter's graph) answers the reaching, so no graph algorithm is kept here.
    An import of a module's own parent package (``from odyssey_jupyter.sweeps import
    budget`` inside ``sweeps``) is how Python reaches a sibling, not a cycle, so it is
    dropped first.
    """
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=False, cache_dir=None)
    modules = {module for module in graph.modules if module.startswith(PACKAGE)}
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if module.startswith(imported + "."):
                graph.remove_import(importer=module, imported=imported)
    reaches = {module: graph.find_upstream_modules(module) for module in modules}
    groups = {
        frozenset({module, *(other for other in reaches[module] if module in reaches[other])})
        for module in modules
    }
    return sorted(sorted(group) for group in groups if len(group) > 1)


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
