"""What a check keeps for the length of one audit: answers that depend on the context.

An identity check is run once per device identity, but identities that differ only in
firmware share more: ``known-vulnerability`` matches an advisory's product lines once
per (vendor, model, hardware). :class:`ContextMemo` keeps such answers for one
:class:`~campatch.audit.interface.AuditContext` object (the knowledge base and the
assessment time it holds decide them): it starts empty whenever the check sees another
context, and is dropped with the context.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import Any

from campatch.audit.interface import AuditContext

__all__ = ["ContextMemo"]


class ContextMemo:
    """A dict of answers that lives as long as one audit context."""

    def __init__(self) -> None:
        self._ctx: weakref.ref[AuditContext] | None = None
        self._store: dict[Hashable, Any] = {}

    def store(self, ctx: AuditContext) -> dict[Hashable, Any]:
        """The dict for ``ctx`` (empty the first time ``ctx`` is seen)."""
        if self._ctx is None or self._ctx() is not ctx:
            store: dict[Hashable, Any] = {}
            try:
                self._ctx = weakref.ref(ctx, lambda _ref, s=store: s.clear())  # type: ignore[misc]
            except TypeError:  # a context that takes no weak reference: no memo
                self._ctx = None
                return store
            self._store = store
        return self._store
