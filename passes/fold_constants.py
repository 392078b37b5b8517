"""Evaluate ops whose inputs are all constants (GluonCV's anchor constants cropped and reshaped, for example)."""
from __future__ import annotations

import numpy as np

from compiler.ir.match import is_output
from passes.manager import PassContext, PassResult


def fold_constants(graph, ctx: PassContext) -> PassResult:
    """Pattern: an op whose class can `evaluate` and whose operands are constants, except the operands its class
             lists in SHAPE_ONLY_OPERANDS (read for their static shape only, like slice_like's `shape_like`)
    Emits:   one constant holding the op's result, computed with numpy in the op's own semantics
    Exact:   yes (data movement and float32 arithmetic identical to the op's)"""
    folded = 0
    for op in graph.ops:
        evaluate = getattr(op.attrs, "evaluate", None)
        if evaluate is None or len(op.results) != 1 or is_output(graph, op.result):
            continue
        shape_only = getattr(op.attrs, "SHAPE_ONLY_OPERANDS", ())
        if any(v.const is None for i, v in enumerate(op.operands) if i not in shape_only):
            continue
        arguments = [v.type.shape if i in shape_only else v.const for i, v in enumerate(op.operands)]
        value = np.asarray(evaluate(*arguments), np.float32)
        graph.replace_all_uses(op.result, graph.constant(value, op.name + "_value"))
        graph.erase(op)
        folded += 1
    return PassResult(folded)
