"""The import rules of docs/architecture.md, read from the source (no import is executed).

textedit_core never imports streamlit or the pages; inside it, a module imports only modules of
its own layer or lower ones; pages and the entry scripts never import SQLAlchemy or the
database layer, nor the demo seeder.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "textedit_core"

# Lowest first. A module may import from its own layer and the layers below it.
LAYERS = [
    {"errors", "clock", "coltypes", "config", "text_input"},
    {"db", "models", "operations", "samples", "clientaddr", "paging"},
    {"migrate", "passwords", "tokens", "money", "llm"},
    {
        "sessions", "throttle", "auth", "actor", "audit", "billing", "admin", "directory", "ledger",
        "dashboard", "exports", "editing", "reconciler",
    },
    {"context"},
    {"signin", "services", "demo"},
    {"cli", "__main__"},
]
LAYER_OF = {name: index for index, layer in enumerate(LAYERS) for name in layer}


def imported_modules(path: Path) -> set[str]:
    """Dotted names this file imports, relative imports resolved against textedit_core."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "textedit_core" + (f".{base}" if base else "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.glob("*.py") if p.stem != "__init__")


def core_imports(path: Path) -> set[str]:
    prefix = "textedit_core."
    return {
        name[len(prefix):].split(".")[0]
        for name in imported_modules(path)
        if name.startswith(prefix) and name[len(prefix):].split(".")[0] in LAYER_OF
    }


def test_every_core_module_has_a_layer():
    assert {p.stem for p in core_modules()} - set(LAYER_OF) == set()


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.stem)
def test_the_core_never_imports_streamlit_or_the_pages(path):
    forbidden = {
        name for name in imported_modules(path) if name.split(".")[0] in ("streamlit", "app_pages")
    }
    assert forbidden == set()


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.stem)
def test_a_core_module_imports_nothing_from_a_higher_layer(path):
    own = LAYER_OF[path.stem]
    upward = {name for name in core_imports(path) if LAYER_OF[name] > own}
    assert upward == set(), f"{path.stem} (layer {own}) imports from higher layers: {upward}"


def ui_scripts() -> list[Path]:
    return sorted([ROOT / "app.py", ROOT / "serve.py", *(ROOT / "app_pages").glob("*.py")])


@pytest.mark.parametrize("path", ui_scripts(), ids=lambda p: p.stem)
def test_pages_never_import_sqlalchemy_the_database_layer_or_the_demo_seeder(path):
    forbidden = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "sqlalchemy"
        or name in ("textedit_core.db", "textedit_core.demo", "textedit_core.migrate")
        or name.startswith(("textedit_core.db.", "textedit_core.demo."))
    }
    assert forbidden == set()
