"""Fold MXNet's scalar arithmetic into constants, neighbouring weights or one Caffe Power layer."""
from __future__ import annotations

import numpy as np

from compiler.ir.match import single_use_producer, sole_producer
from compiler.ops import Power, ScalarOp
from passes.manager import PassContext, PassResult, compiler_pass
from passes.support.weights import fold_output_affine, foldable_output_affine

_LARGEST = float(np.finfo(np.float32).max)


def _representable(inner: Power, outer: Power) -> bool:
    """Whether the merged Power's scale and shift are finite float32 numbers (two large scales in a row must stay
    two layers: their product would be written as inf)."""
    merged = (inner.scale * outer.scale, outer.scale * inner.shift + outer.shift)
    return all(abs(v) <= _LARGEST for v in merged)


@compiler_pass(
    after={"fold_constants": "scalar arithmetic on constants is folded there"},
    rewrites=(ScalarOp, Power),
    produces=(Power,),
    pattern=("ScalarOp (`_plus_scalar`, `_minus_scalar`, `_rminus_scalar`, `_mul_scalar`, "
             "`_div_scalar`, `_rdiv_scalar`, `_power_scalar`); chains of affine Powers; an affine Power "
             "on the single-use result of an OUTPUT_CHANNEL_WEIGHTS op (Convolution, Deconvolution, "
             "FullyConnected) with constant weights"),
    emits=("every ScalarOp (on data: fold_constants, which runs first, took those on constants) → Power "
           "(x+c: shift c; x−c: shift −c; c−x: scale −1 shift c; x·c: scale c; x/c: scale 1/c; c/x: "
           "power −1 scale 1/c; x^c: power c); Power(s2, t2)∘Power(s1, t1) → Power(s1·s2, s2·t1 + t2); "
           "an affine Power after a conv/fc → weights·s, bias·s + t; Power(1, 1, 0) → removed"),
    exact="yes up to float32 rounding (x/c becomes x·(1/c), folded weights round once)")
def fold_scalar_arithmetic(graph, ctx: PassContext) -> PassResult:
    rewrites = 0
    for op in graph.ops_of(ScalarOp):
        with graph.inserting_before(op):
            power = graph.add(op.attrs.as_power(), op.operands[0], name=op.name + "_power", origin=op.origin).result
        graph.replace_op(op, power)
        rewrites += 1
    for op in graph.ops_of(Power):
        if op.graph is None or not op.attrs.affine:
            continue
        inner = sole_producer(op.operands[0], Power)
        if inner is not None and inner.attrs.affine and _representable(inner.attrs, op.attrs):
            s1, t1, s2, t2 = inner.attrs.scale, inner.attrs.shift, op.attrs.scale, op.attrs.shift
            graph.set_attrs(op, Power(scale=s1 * s2, shift=s2 * t1 + t2))
            graph.set_operand(op, 0, inner.operands[0])
            graph.erase(inner)
            rewrites += 1
    for op in graph.ops_of(Power):
        a = op.attrs
        if a.affine and a.scale == 1.0 and a.shift == 0.0:
            graph.replace_all_uses(op.result, op.operands[0])
            graph.erase(op)
            rewrites += 1
            continue
        producer = single_use_producer(op.operands[0])
        if not a.affine or not foldable_output_affine(producer, per_channel=False):
            continue
        fold_output_affine(graph, producer, a.scale, a.shift, suffix="scaled")
        graph.replace_all_uses(op.result, producer.result)
        graph.erase(op)
        rewrites += 1
    return PassResult(rewrites)
