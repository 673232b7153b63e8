"""campatch command line (placeholder until the CLI lands)."""

from __future__ import annotations


def main() -> None:
    """Entry point."""
    raise SystemExit(0)
