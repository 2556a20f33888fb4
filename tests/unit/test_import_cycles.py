"""No module of the package imports another that imports it back, directly or through a
chain (type-checking imports included): each module can be read, tested and changed with
only what is below it in mind. The layers themselves are import-linter's contracts."""

from __future__ import annotations

import grimp


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = grimp.build_graph("desktopchat")
    circles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(importer=imported, imported=module)
        }
    )
    assert circles == []
