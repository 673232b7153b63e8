"""Inventory schema revisions, oldest first (``r0001_...``)."""
