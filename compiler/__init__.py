"""gluon2caffe: compile MXNet-Gluon models into Caffe models that give the same numbers.

The public API loads lazily so that `import compiler.ir` never pulls in MXNet.
"""
from __future__ import annotations

import importlib

_PUBLIC = {
    "convert_model": "compiler.driver.legacy",
    "convert_ssd_model": "compiler.driver.legacy",
    "save_model": "compiler.driver.legacy",
    "compile_model": "compiler.driver.api",
    "Compilation": "compiler.driver.api",
    "Options": "compiler.options",
    "ConversionError": "compiler.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'compiler' has no attribute {name!r}")
