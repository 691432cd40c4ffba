"""The plain core must stay importable without ROS, torch or an HTTP stack.

Imports are parsed with ``ast`` (so a lazy import inside a function counts too), and the
layers' "never imports" table of docs/architecture.md is enforced module by module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "ridescan_ros"

FORBIDDEN = {
    "core": {"rclpy", "torch", "fastapi", "starlette", "uvicorn"},
    "model": {"rclpy", "fastapi", "starlette"},
    "service": {"rclpy", "fastapi", "starlette"},
    "api": {"rclpy", "torch"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _layer_files(layer: str) -> list[Path]:
    return sorted((PKG / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_never_imports_forbidden(layer: str) -> None:
    files = _layer_files(layer)
    if layer == "core":
        assert files, "core package has no modules"
    bad = {
        str(f.relative_to(PKG)): sorted(_imported_roots(f) & FORBIDDEN[layer])
        for f in files
        if _imported_roots(f) & FORBIDDEN[layer]
    }
    assert bad == {}, f"forbidden imports: {bad}"


def test_cli_never_imports_rclpy() -> None:
    files = [PKG / "cli.py", *sorted((PKG / "commands").rglob("*.py"))]
    bad = [str(f.relative_to(PKG)) for f in files if "rclpy" in _imported_roots(f)]
    assert bad == []


def test_importing_core_loads_no_heavy_module() -> None:
    mods = sorted(p.stem for p in (PKG / "core").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module('ridescan_ros.core.' + m)\n"
        "print(sorted(k for k in ('rclpy', 'torch', 'fastapi') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
