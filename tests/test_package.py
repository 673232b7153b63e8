"""The package as a whole: every module imports on its own, and in any order."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import campatch


def all_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(campatch.__path__, prefix="campatch.")
        # Alembic runs migrations/env.py itself; importing it alone is not meant to work.
        if ".migrations" not in info.name and not info.name.endswith("__main__")
    )


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """A circular import shows up only when a module is imported first; try each first."""
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for mod in [m for m in sys.modules if m.startswith('campatch')]:\n"
        "        del sys.modules[mod]\n"
        "    importlib.import_module(name)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *all_modules()], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_version_is_exported() -> None:
    assert campatch.__all__ == ["__version__"]
    assert campatch.__version__.count(".") == 2


@pytest.mark.parametrize("stage", ["discovery", "drivers", "inventory", "report", "sim", "net"])
def test_model_stays_at_the_bottom_of_the_import_graph(stage: str) -> None:
    """model.py and errors.py import no pipeline stage (the shared types live below them)."""
    for base in ("model", "errors", "config"):
        source = campatch.__path__[0] + f"/{base}.py"
        with open(source, encoding="utf-8") as f:
            text = f.read()
        assert f"campatch.{stage}" not in text, f"{base}.py imports campatch.{stage}"
