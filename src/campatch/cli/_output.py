"""Exit codes, the one fatal-error path, output format choices and the progress bar."""

from __future__ import annotations

import sys
from enum import IntEnum, StrEnum
from typing import NoReturn

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

# Piped output gets a wide page instead of rich's 80-column fallback; errors never wrap.
# Device-supplied text is printed as is: no rich markup, emoji codes or highlighting in it.
stdout = Console(
    width=None if sys.stdout.isatty() else 160, markup=False, emoji=False, highlight=False
)
stderr = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


class ExitCode(IntEnum):
    """campatch's exit codes (a contract: see README "Exit codes")."""

    CLEAN = 0
    FINDINGS = 1
    ERROR = 2


class OutputFormat(StrEnum):
    """``--format`` choices."""

    TABLE = "table"
    JSON = "json"

    def __str__(self) -> str:
        return self.value


class Fatal(Exception):
    """Raised by :func:`fatal`; :func:`campatch.cli.main.main` prints it and exits 2."""

    def __init__(self, message: str, tip: str = "") -> None:
        super().__init__(message)
        self.tip = tip


def fatal(message: str, tip: str = "") -> NoReturn:
    """Stop with one readable error line (and an optional tip); exit code 2."""
    raise Fatal(message, tip)


class ProgressBar:
    """A :class:`~campatch.pipeline.ScanObserver` drawing a rich progress bar on stderr."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=stderr, transient=True,
        )  # fmt: skip
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def stage(self, name: str, total: int) -> None:
        """Start a new bar for stage ``name``."""
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(name, total=max(total, 1))

    def advance(self, done: int = 1) -> None:
        """Move the current bar."""
        if self._task is not None:
            self._progress.advance(self._task, done)
