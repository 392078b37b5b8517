"""Every lowering pass on a graph it rewrites: at least one rewrite, the ops it promises, and the same numbers as the
graph before it (the reference interpreter on both)."""
import pytest

from compiler.ops import (ArgMax, ArgMin, BroadcastLike, BroadcastMul, BroadcastTo, Concat, Convolution, Copy,
                          ExpandDims, InstanceNorm, L2Normalization, LogSoftmax, Norm, Pad, Pooling, ReduceSum,
                          Reshape, Scale, Tile, Transpose, ZerosLike)
from tests.passes.helpers import IR, check, kinds


def _conv(ir, shape=(1, 4, 6, 6), filters=4):
    x = ir.input(shape)
    return ir(Convolution(num_filter=filters, kernel=3, pad=1), x, ir.weight((filters, shape[1], 3, 3)), name="c")


def log_softmax(ir):
    return ir(LogSoftmax(axis=1, temperature=2.0), _conv(ir))


def instance_norm(ir):
    return ir(InstanceNorm(eps=1e-5), _conv(ir), ir.weight((4,), between=(0.5, 2)), ir.weight((4,)))


def norm(ir):
    return ir(Norm(ord=2, axis=(1,), keepdims=True), _conv(ir))


def l2_spatial(ir):
    return ir(L2Normalization(mode="spatial"), _conv(ir))


def l2_channel(ir):
    return ir(Scale(), ir(L2Normalization(mode="channel"), _conv(ir)), ir.weight((4,), between=(1, 20)))


def argmax(ir):
    return ir(ArgMax(axis=1, keepdims=True), _conv(ir))


def argmin(ir):
    return ir(ArgMin(axis=1), _conv(ir))


def tile(ir):
    return ir(Tile(reps=(1, 2, 1, 1)), _conv(ir))


def broadcast_to(ir):
    pooled = ir(Pooling(global_pool=True, pool_type="avg", kernel=(1, 1)), _conv(ir))
    return ir(BroadcastTo(shape=(1, 4, 6, 6)), pooled)


def pixel_shuffle(ir):
    x = ir(Reshape(shape=(1, 2, 2, 2, 6, 6)), _conv(ir, filters=8))
    return ir(Reshape(shape=(1, 2, 12, 12)), ir(Transpose(axes=(0, 1, 4, 2, 5, 3)), x))


def five_d_product(ir):
    x = ir(Reshape(shape=(1, 2, 2, 6, 6)), _conv(ir))
    return ir(ReduceSum(axis=(1,)), ir(BroadcastMul(), x, ir.weight((1, 2, 1, 1, 1))))


def zero_pad_into_conv(ir):
    x = ir(Pad(pad_width=(0, 0, 0, 0, 1, 2, 2, 1)), ir.input((1, 3, 6, 6)))
    return ir(Convolution(num_filter=4, kernel=3), x, ir.weight((4, 3, 3, 3)))


def lp_pooling(ir):
    return ir(Pooling(pool_type="lp", p_value=2, kernel=(2, 2), stride=(2, 2)), _conv(ir))


def absorbed_broadcast_like(ir):
    x = _conv(ir)
    gate = ir(Pooling(global_pool=True, pool_type="avg", kernel=(1, 1)), x)
    return ir(BroadcastMul(), ir(BroadcastLike(), gate, x), x)


def channel_shuffle(ir):
    x = ir(Reshape(shape=(1, 2, 2, 6, 6)), _conv(ir))
    return ir(Reshape(shape=(1, 4, 6, 6)), ir(Transpose(axes=(0, 2, 1, 3, 4)), x))


def constant_chain(ir):
    x = _conv(ir)
    folded = ir(Reshape(shape=(1, 4, 1, 1)), ir(ExpandDims(axis=0), ir.weight((4, 1, 1))))
    return ir(Concat(dim=1), x, ir(BroadcastMul(), ir(Copy(), x), folded), ir(ZerosLike(), x))


CASES = [
    ("lower_log_softmax", log_softmax, {}, ["ReduceMax", "Exp", "Log"]),
    ("lower_instance_norm", instance_norm, {}, ["ReduceMean", "Scale"]),
    ("lower_norm", norm, {}, ["ReduceSum", "Power"]),
    ("decompose_l2_normalization", l2_spatial, {}, ["ReduceSum", "Power"]),
    ("lower_l2_normalization", l2_channel, {"layers": {"Normalize"}}, ["Normalize"]),
    ("lower_argmax", argmax, {}, ["ReduceMax", "Clip"]),
    ("lower_argmax", argmin, {}, ["ReduceMin", "Clip"]),
    ("lower_repeats", tile, {}, ["Concat"]),
    ("lower_repeats", broadcast_to, {}, ["Deconvolution"]),
    ("lower_pixel_shuffle", pixel_shuffle, {}, ["Deconvolution"]),
    ("lower_rank", five_d_product, {"policy": {"max_rank": 4}}, ["BroadcastMul"]),
    ("fold_padding", zero_pad_into_conv, {}, ["Convolution"]),
    ("lower_lp_pooling", lp_pooling, {}, ["Power", "Pooling"]),
    ("absorb_broadcast_like", absorbed_broadcast_like, {}, ["BroadcastMul"]),
    ("lower_transpose", channel_shuffle, {}, ["Convolution"]),
    ("fold_constants", constant_chain, {}, ["Concat"]),
]


@pytest.mark.parametrize("name, model, settings, emitted", CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_the_pass_rewrites_and_keeps_the_numbers(name, model, settings, emitted):
    def build():
        ir = IR()
        return ir.output(model(ir))
    result, _, graph = check(name, build, **settings)
    assert result.rewrites >= 1
    assert set(emitted) <= set(kinds(graph)), kinds(graph)
