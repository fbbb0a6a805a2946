"""The shape of the code, checked: layers import downward, the API goes through the
service's public names, no service code touches a connection, and the README's list of
event types is the one the service defines."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deconflict import service
from deconflict.service import EVENT_TYPES
from tests.conftest import REPO

SRC = REPO / "src" / "deconflict"
PURE = ("geo", "strategic", "tactical", "ledger")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def _modules(folder: str) -> list[Path]:
    return sorted((SRC / folder).rglob("*.py"))


@pytest.mark.parametrize("lib", PURE)
def test_pure_libraries_import_no_layer_above_them(lib: str) -> None:
    above = ("deconflict.service", "deconflict.store", "deconflict.api", "deconflict.cli")
    bad = [
        f"{p.relative_to(SRC)}: {m}"
        for p in _modules(lib)
        for m in _imports(p)
        if m.startswith(above)
    ]
    assert bad == []


def test_the_api_uses_only_the_service_facade() -> None:
    bad = [
        f"{p.relative_to(SRC)}: {m}"
        for p in _modules("api")
        for m in _imports(p)
        if m.startswith(("deconflict.service.", "deconflict.store"))
    ]
    assert bad == []


def test_no_service_code_touches_a_connection_or_sql() -> None:
    offenders = []
    for p in _modules("service"):
        text = p.read_text(encoding="utf-8")
        for name in ("sqlalchemy", "repo.conn", "exec_driver_sql"):
            if name in text:
                offenders.append(f"{p.relative_to(SRC)}: {name}")
    assert offenders == []


def test_the_readme_lists_exactly_the_event_types_the_service_defines() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"Events \(`type` of each SSE event\):(.*?)\. Each", readme, re.S)
    assert match is not None, "the README's list of event types is gone"
    listed = re.findall(r"`([a-z_]+)`", match.group(1))
    assert listed == [t.name for t in EVENT_TYPES]


def test_every_event_the_service_emits_is_a_defined_type() -> None:
    # emit/emit_to take an EventType (mypy checks it); a string literal would be a bypass
    pattern = re.compile(r"\.emit(?:_to)?\([^)]*?,\s*\"")
    bad = [str(p.relative_to(SRC)) for p in _modules("service") if pattern.search(p.read_text())]
    assert bad == []


def test_a_volume_parser_worker_imports_only_what_it_parses_with() -> None:
    # A spawned worker imports its module afresh; with `deconflict.service` loading the
    # whole hub on import it took ~2 s and 220 MB before it could parse (service/__init__).
    heavy = ("deconflict.service.hub", "deconflict.api", "fastapi", "numba", "fpdf", "sqlalchemy")
    code = (
        "import sys, deconflict.service.parsers\n"
        f"print('\\n'.join(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    found = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == []


def test_every_public_service_name_loads_as_the_object_it_names() -> None:
    where = vars(service)["_WHERE"]
    assert sorted(where) == sorted(service.__all__)
    for name, (module, attr) in where.items():
        assert getattr(service, name) is getattr(importlib.import_module(module), attr), name
    with pytest.raises(AttributeError, match="no attribute 'Hubb'"):
        _ = service.Hubb


def test_the_hub_imports_the_pdf_library_only_when_it_prints() -> None:
    code = "import sys, deconflict.api\nprint('fpdf' in sys.modules)"
    found = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "False"
