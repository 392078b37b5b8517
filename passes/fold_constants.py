"""Evaluate ops whose inputs are all constants (GluonCV's anchor constants cropped and reshaped, for example)."""
from __future__ import annotations

import numpy as np

from compiler.ir.match import is_output
from compiler.ir.opdef import Trait
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    after={"eliminate_identities": "an identity between a constant and its reader would hide the constant"},
    rewrites=(Trait.FOLDABLE,),
    pattern=("a FOLDABLE op whose operands are constants, except those its definition lists as "
             "shape_operands (read for their static shape only, like slice_like's `shape_like`)"),
    emits=("one constant holding the op's result (one per result of a multi-result op), computed by the "
           "op's evaluate() in numpy"),
    exact="yes (data movement and float32 arithmetic identical to the op's)")
def fold_constants(graph, ctx: PassContext) -> PassResult:
    folded = 0
    for op in graph.ops:
        definition = op.definition
        if not definition.has(Trait.FOLDABLE) or any(is_output(graph, v) for v in op.results):
            continue
        shape_only = definition.shape_operands
        if any(v.const is None for i, v in enumerate(op.operands) if i not in shape_only):
            continue
        arguments = [v.type.shape if i in shape_only else v.const for i, v in enumerate(op.operands)]
        values = op.attrs.evaluate(*arguments)
        values = values if len(op.results) > 1 else (values,)   # a multi-result op evaluates to a tuple
        for result, value in zip(op.results, values):
            graph.replace_all_uses(result, graph.constant(np.asarray(value, np.float32), result.name + "_value"))
        graph.erase(op)
        folded += 1
    return PassResult(folded)
