"""Versions of the libraries whose numerics the artifacts depend on, recorded beside the metrics they produced.

A module of its own so that training records them without importing the serving stack (faiss, onnxruntime).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

NUMERIC_LIBRARIES = ("torch", "sentence-transformers", "transformers", "onnxruntime", "faiss-cpu", "scikit-learn")


def library_versions() -> dict[str, str]:
    """Installed versions of NUMERIC_LIBRARIES; absent ones (torch in the serving image) are left out."""
    found = {}
    for name in NUMERIC_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
