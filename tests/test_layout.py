"""The folder tree is the pipeline: layer contracts hold, and the light layers stay light."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it comes with the `test` extra")
    return found


def test_layers_import_only_downwards():
    """cli > app > analysis > report > runs > model (pyproject.toml [tool.importlinter])."""
    proc = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]


@pytest.mark.parametrize("module", ["aidsim.analysis.studies", "aidsim.analysis.validation", "aidsim.report.markdown", "aidsim.report.figures"])
def test_analysis_and_report_import_without_mesa(module):
    """Reading results and drawing them must not pay for the simulation framework."""
    code = f"import sys, {module}; print('mesa' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False", f"importing {module} imported mesa"


def test_the_worker_pool_module_imports_nothing_heavy():
    """aidsim-sweep starts the workers' fork server before its own heavy imports, so the module that
    does it must not import them itself."""
    code = "import sys, aidsim.runs.workers; print(sorted(m for m in ('mesa', 'pandas', 'numpy', 'hydra') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"importing aidsim.runs.workers imported {out}"


def test_ruff_lint_and_format_are_clean():
    ruff = _tool("ruff")
    lint = subprocess.run([ruff, "check", "src", "tests", "experiments"], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = subprocess.run([ruff, "format", "--check", "src", "tests", "experiments"], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_is_clean():
    proc = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
