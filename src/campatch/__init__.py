"""campatch: see, know, fix and keep current IP cameras, NVRs and DVRs."""

__version__ = "0.1.0"

__all__ = ["__version__"]
