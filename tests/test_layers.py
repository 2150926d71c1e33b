"""The import rules of docs/architecture.md, read from the source (no import is executed).

textedit_core never imports streamlit or the pages; inside it, a module imports only modules of
its own layer or lower ones; pages and the entry scripts never import SQLAlchemy or the
database layer, nor the demo seeder, and never open a transaction themselves (the use cases in
textedit_core/usecases do).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "textedit_core"

# Lowest first. A module may import from its own layer and the layers below it. A package's
# __init__ holds only its docstring, so the packages sit at the bottom.
LAYERS = [
    {
        "errors",
        "infra",
        "identity",
        "billing",
        "reports",
        "editing",
        "demo",
        "usecases",
        "infra.clock",
        "infra.coltypes",
        "infra.config",
        "infra.text_input",
        "infra.clientaddr",
        "infra.connlimits",
        "infra.metrics",
        "i18n",
    },
    {
        "infra.db",
        "infra.models",
        "editing.operations",
        "demo.samples",
        "infra.paging",
        "reports.txcolumns",
        "billing.currencies",
        "billing.txlabels",
    },
    {
        "infra.migrate",
        "infra.audit",
        "infra.mailer",
        "identity.passwords",
        "identity.tokens",
        "identity.scripts",
        "billing.money",
        "editing.guard",
        "editing.gateway",
        "editing.review",
        "editing.documents",
    },
    {
        "identity.accounts",
        "identity.actor",
        "identity.devices",
        "identity.throttle",
        "identity.roles",
        "identity.resets",
        "billing.ledger",
        "billing.reconciler",
        "reports.users",
        "reports.transactions",
        "reports.dashboard",
        "reports.audit",
        "reports.exports",
        "editing.jobs",
        "editing.drafts",
        "editing.history",
        "editing.settings",
        "editing.cache",
        "editing.hosts",
        "editing.catalog",
        "editing.queue",
    },
    {"context"},
    {
        "bootstrap",
        "demo.seed",
        "usecases.signin",
        "usecases.common",
        "usecases.wallet",
        "usecases.account",
        "usecases.staff",
        "usecases.admin",
        "usecases.editor",
        "usecases.history",
        "usecases.transactions",
        "usecases.cache",
        "usecases.models",
    },
    {"cli", "__main__"},
]
# Across subsystems, too, imports point one way: each package may use only the ones named here
# (and itself). Reports read the ledger and name operations; nothing below the use cases reads
# a report, and identity knows nothing of money or the model.
SUBSYSTEM_USES = {
    "infra": set(),
    "identity": {"infra"},
    "billing": {"infra", "identity"},
    "editing": {"infra", "identity", "billing"},
    "reports": {"infra", "identity", "billing", "editing"},
    "demo": {"infra", "identity", "billing", "editing"},
}
LAYER_OF = {name: index for index, layer in enumerate(LAYERS) for name in layer}


def _package_of(path: Path) -> list[str]:
    """The dotted package a file belongs to (a package's __init__ belongs to the package itself)."""
    return list(path.relative_to(ROOT).with_suffix("").parts[:-1])


def imported_modules(path: Path) -> set[str]:
    """Dotted names this file imports, relative imports resolved against the file's package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(path)
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def module_name(path: Path) -> str:
    """A core module's dotted name below textedit_core: "billing", "usecases.wallet", "usecases"
    (a subpackage's __init__)."""
    parts = path.relative_to(CORE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> list[Path]:
    """Every module of textedit_core and its subpackages (migration scripts excepted: Alembic
    loads them, nothing imports them)."""
    return sorted(
        p
        for p in CORE.rglob("*.py")
        if p != CORE / "__init__.py" and "migrations" not in p.relative_to(CORE).parts
    )


def _layered(dotted: str) -> str | None:
    """The longest prefix of a dotted name below textedit_core that has a layer."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in LAYER_OF:
            return ".".join(parts[:end])
    return None


def core_imports(path: Path) -> set[str]:
    prefix = "textedit_core."
    found = (_layered(name[len(prefix) :]) for name in imported_modules(path) if name.startswith(prefix))
    return {name for name in found if name is not None}


def test_every_core_module_has_a_layer():
    assert {module_name(p) for p in core_modules()} - set(LAYER_OF) == set()


def test_every_layered_module_exists():
    assert set(LAYER_OF) - {module_name(p) for p in core_modules()} == set()


@pytest.mark.parametrize("path", core_modules(), ids=module_name)
def test_the_core_never_imports_streamlit_or_the_pages(path):
    forbidden = {name for name in imported_modules(path) if name.split(".")[0] in ("streamlit", "app_pages")}
    assert forbidden == set()


@pytest.mark.parametrize("path", core_modules(), ids=module_name)
def test_a_core_module_imports_nothing_from_a_higher_layer(path):
    own = LAYER_OF[module_name(path)]
    upward = {name for name in core_imports(path) if LAYER_OF[name] > own}
    assert upward == set(), f"{module_name(path)} (layer {own}) imports from higher layers: {upward}"


def subsystem_of(dotted: str) -> str | None:
    top = dotted.split(".")[0]
    return top if top in SUBSYSTEM_USES else None


@pytest.mark.parametrize("path", [p for p in core_modules() if subsystem_of(module_name(p))], ids=module_name)
def test_a_subsystem_imports_only_the_subsystems_below_it(path):
    own = subsystem_of(module_name(path))
    allowed = {own, *SUBSYSTEM_USES[own]}
    sideways = {name for name in core_imports(path) if (subsystem_of(name) or own) not in allowed}
    assert sideways == set(), f"{module_name(path)} ({own}) imports {sideways}"


def ui_scripts() -> list[Path]:
    return sorted([ROOT / "app.py", ROOT / "serve.py", *(ROOT / "app_pages").rglob("*.py")])


@pytest.mark.parametrize("path", ui_scripts(), ids=lambda p: p.stem)
def test_pages_never_import_sqlalchemy_the_database_layer_or_the_demo_seeder(path):
    forbidden = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "sqlalchemy"
        or name in ("textedit_core.infra.db", "textedit_core.demo.seed", "textedit_core.infra.migrate")
        or name.startswith(("textedit_core.infra.db.", "textedit_core.demo.seed."))
    }
    assert forbidden == set()


# `svc.db`, `services.db`, `.db.read()`: the Database object. Pages call use cases instead.
DATABASE_OBJECT = re.compile(r"\.db\b")


@pytest.mark.parametrize("path", ui_scripts(), ids=lambda p: p.stem)
def test_pages_never_touch_the_database_object(path):
    """No page, app.py or serve.py opens a transaction: each action or read is one use case."""
    hits = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if DATABASE_OBJECT.search(line)
    ]
    assert hits == []
