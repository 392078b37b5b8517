"""The IR is made of reference cycles (op ⇄ value, the op list): Python's cyclic garbage collector, triggered by
allocations, rescans them again and again while a graph is built or rewritten. Building and rewriting run with it
paused; it resumes (and frees what became garbage) afterwards."""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def cyclic_gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
