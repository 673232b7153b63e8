"""The audit checks, one module per concern; ``all_checks()`` in auditor.py lists them."""
