"""Lower clip to ReLU, ReLU6 or an exact ReLU/Power composition the target can run."""
from __future__ import annotations

import numpy as np

from compiler.ir.match import sole_producer
from compiler.ops import Activation, Clip, Power, ReLU6
from compiler.options import Relu6
from passes.manager import PassContext, PassResult, compiler_pass

_UNBOUNDED = float(np.finfo(np.float32).max)


def merged_clip(inner: Clip, outer: Clip) -> Clip:
    """The one clip equal to clipping by `inner`, then by `outer`: the intersection of the two ranges, or the
    bound the first range lies wholly beyond."""
    low = min(max(inner.a_min, outer.a_min), outer.a_max)
    return Clip(a_min=low, a_max=max(min(inner.a_max, outer.a_max), low))


@compiler_pass(
    rewrites=(Clip,),
    produces=(ReLU6, Activation, Power),
    pattern="Clip(x) {a_min, a_max}; Clip(Clip(x)) with the inner result used once",
    emits=("clip(clip(x, a1, b1), a2, b2) → one clip (see merged_clip); then clip(0, ≥FLT_MAX) → ReLU; "
           "clip(0, 6) → ReLU6 where the target has that layer; otherwise min(max(x, a), b) = b − "
           "relu((b − a) − relu(x − a)) as Power(shift −a) → ReLU → Power(scale −1, shift b − a) → ReLU "
           "→ Power(scale −1, shift b), dropping the steps an infinite bound makes vacuous, or, where the "
           "target has a Clip layer (ncnn-native), the Clip itself; with the `relu6=approx` option clip(0, 6) "
           "becomes a plain ReLU"),
    exact=("yes up to float32 rounding of the shifts (≤ ulp(b)); only the relu6=approx option is not, "
           "and it is reported as an approximation"))
def clip_to_relu(graph, ctx: PassContext) -> PassResult:
    rewrites = 0
    for op in graph.ops_of(Clip):
        inner = sole_producer(op.operands[0], Clip)
        if inner is not None:   # clip(clip(x, a1, b1), a2, b2) is one clip (a hand-written ReLU6: max then min)
            graph.set_attrs(op, merged_clip(inner.attrs, op.attrs))
            graph.set_operand(op, 0, inner.operands[0])
            graph.erase(inner)
            rewrites += 1
    for op in graph.ops_of(Clip):
        a, b = op.attrs.a_min, op.attrs.a_max
        x = op.operands[0]
        steps: list = []
        if (a, b) == (0.0, 6.0) and "ReLU6" in ctx.layers:
            steps = [ReLU6()]
        elif (a, b) == (0.0, 6.0) and ctx.options.relu6 is Relu6.APPROX:
            steps = [Activation(act_type="relu")]
            ctx.approximated(op, "clip(0, 6) emitted as ReLU (--relu6 approx): values above 6 pass unclipped")
        elif "Clip" in ctx.layers and not (a == 0.0 and b >= _UNBOUNDED):
            continue   # the target's own Clip computes it exactly (a ReLU stays a ReLU)
        else:
            if a > -_UNBOUNDED:
                steps += [Power(shift=-a)] if a != 0 else []
                steps += [Activation(act_type="relu")]
            if b < _UNBOUNDED:
                if a > -_UNBOUNDED:
                    steps += [Power(scale=-1.0, shift=b - a), Activation(act_type="relu"), Power(scale=-1.0, shift=b)]
                else:
                    steps += [Power(scale=-1.0, shift=b), Activation(act_type="relu"), Power(scale=-1.0, shift=b)]
            elif a > -_UNBOUNDED and a != 0:
                steps += [Power(shift=a)]
        value = x
        with graph.inserting_before(op):
            for i, step in enumerate(steps):
                value = graph.add(step, value, name=f"{op.name}_{i}", origin=op.origin).result
        graph.replace_op(op, value, take_name=bool(steps))
        rewrites += 1
    return PassResult(rewrites)
