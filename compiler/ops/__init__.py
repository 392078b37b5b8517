"""Every op family. Importing this package imports every module in it, which completes the op registry, and makes
each registered op class importable from here (`from compiler.ops import Convolution`): a new op needs no line
in this file."""
from __future__ import annotations

import importlib
import pkgutil

from compiler.ir.opdef import REGISTRY

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def __getattr__(name: str):
    if name in REGISTRY:
        return REGISTRY[name].cls
    raise AttributeError(f"module 'compiler.ops' has no op {name!r}")


def __dir__():
    return sorted(set(globals()) | set(REGISTRY))
