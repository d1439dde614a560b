"""The three floors (DESIGN.md section 4), enforced: what each package may import.

- the core imports no I/O or concurrency module;
- nothing outside the core imports a private core name (``mcp_sansio._*``);
- the runtime imports neither h11 nor any ASGI server, and no transport;
- each transport imports the runtime and the core, never the other transport.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = ROOT / "src" / "adapters"
IO_MODULES = {
    *("asyncio", "trio", "anyio", "socket", "selectors", "ssl", "threading", "redis", "h11", "sniffio"),
    *("httpx", "jwt", "cryptography"),
}
SERVERS = {"h11", "uvicorn", "hypercorn", "granian", "starlette"}


def imports(folder: Path) -> Iterator[tuple[Path, int, str]]:
    """Every module imported by the Python files under ``folder``: (file, line, dotted name)."""
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.lineno, node.module
                for alias in node.names:  # `from mcp_sansio import _x` is private too
                    yield path, node.lineno, f"{node.module}.{alias.name}"


def offenders(folder: Path, banned: set[str] | None = None, *, private_core: bool = False) -> list[str]:
    found = []
    for path, line, name in imports(folder):
        parts = name.split(".")
        where = f"{path.relative_to(folder)}:{line}"
        if banned is not None and parts[0] in banned:
            found.append(f"{where} imports {name}")
        if private_core and parts[0] == "mcp_sansio" and len(parts) > 1 and parts[1].startswith("_"):
            found.append(f"{where} imports private {name}")
    return found


def test_the_core_does_no_io() -> None:
    assert offenders(ROOT / "src" / "mcp_sansio", IO_MODULES) == []


@pytest.mark.parametrize("folder", ["src/adapters", "examples", "benchmarks"])
def test_only_public_core_names_outside_the_core(folder: str) -> None:
    assert offenders(ROOT / folder, private_core=True) == []


def test_the_runtime_knows_no_transport() -> None:
    # ...and no verifier: JOSE and HTTP clients live in mcp_sansio_auth (the [auth] extra).
    banned = SERVERS | {"mcp_sansio_h11", "mcp_sansio_asgi", "mcp_sansio_auth", "httpx", "jwt"}
    assert offenders(ADAPTERS / "mcp_sansio_runtime", banned) == []


def test_transports_stand_only_on_the_runtime() -> None:
    assert offenders(ADAPTERS / "mcp_sansio_asgi", SERVERS | {"mcp_sansio_h11"}) == []
    assert offenders(ADAPTERS / "mcp_sansio_h11", SERVERS - {"h11"} | {"mcp_sansio_asgi"}) == []


def test_the_checker_catches_a_private_import(tmp_path: Path) -> None:
    bad = "from mcp_sansio._events import Call\nfrom mcp_sansio import _jsonrpc\nimport h11\n"
    (tmp_path / "bad.py").write_text(bad)
    assert {o.split()[0] for o in offenders(tmp_path, private_core=True)} == {"bad.py:1", "bad.py:2"}
    assert offenders(tmp_path, {"h11"}) == ["bad.py:3 imports h11"]
