"""Values of more than 4 dims on a target that holds at most 4 (ncnn): the lower_rank pass merges axes the op treats
alike. Run in OpenCV for ncnn, and — on a caffe target given the same 4-dim limit — in pycaffe too."""
import attrs
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

import backends
from compiler.errors import IllegalForTarget
from tests.helpers import convert_and_compare, random_params


@pytest.fixture
def four_dim_caffe(monkeypatch):
    """Vanilla Caffe told to keep every blob within 4 dims, so that pycaffe runs the lowered layers too."""
    caffe = backends.TARGETS["caffe"]
    limited = attrs.evolve(caffe, name="caffe-4d", policy=attrs.evolve(caffe.policy, max_rank=4))
    monkeypatch.setitem(backends.TARGETS, "caffe-4d", limited)
    return "caffe-4d"


def _conv(x, filters, name):
    return mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=filters, name=name)


def split_attention(radix, cardinality, channels=4):
    """GluonCV's SplitAttentionConv after its convolution (gluoncv/nn/splat.py): sum of the radix splits → global
    pool → 1×1 convolutions → softmax over the radix → gate × splits → sum over the radix."""
    x = mx.sym.relu(_conv(mx.sym.var("data"), channels * radix, "conv"))
    splits = mx.sym.reshape(mx.sym.expand_dims(x, axis=1), shape=(0, radix, channels, 0, 0))
    gap = mx.sym.contrib.AdaptiveAvgPooling2D(mx.sym.sum(splits, axis=1), output_size=1)
    fc = mx.sym.Convolution(mx.sym.relu(mx.sym.Convolution(gap, kernel=(1, 1), num_filter=8, num_group=cardinality,
                                                           name="fc1")),
                            kernel=(1, 1), num_filter=channels * radix, num_group=cardinality, name="fc2")
    attention = mx.sym.SwapAxis(mx.sym.reshape(fc, shape=(0, cardinality, radix, -1)), dim1=1, dim2=2)
    gate = mx.sym.reshape(mx.sym.softmax(attention, axis=1), shape=(0, radix, -1, 1, 1))
    return mx.sym.sum(mx.sym.broadcast_mul(gate, splits), axis=1, name="out")


def elementwise_and_constant():
    x = _conv(mx.sym.var("data"), 6, "conv")
    five = mx.sym.relu(mx.sym.reshape(x, shape=(0, -4, 2, 3, -2)))
    shifted = mx.sym.broadcast_add(five, mx.sym.var("offset", shape=(1, 2, 3, 1, 1)))
    return mx.sym.reshape(mx.sym.sigmoid(shifted), shape=(0, -3, -2), name="out")


def mean_over_inner_axes():
    x = _conv(mx.sym.var("data"), 6, "conv")
    return mx.sym.Flatten(mx.sym.mean(mx.sym.reshape(x, shape=(0, -4, 2, 3, -2)), axis=(2, 3)), name="out")


CASES = [
    (lambda: split_attention(2, 1), (1, 3, 6, 6)),
    (lambda: split_attention(2, 2), (2, 3, 5, 7)),
    (lambda: split_attention(3, 1), (1, 3, 4, 4)),
    (elementwise_and_constant, (2, 3, 4, 5)),
    (mean_over_inner_axes, (1, 3, 4, 5)),
]


@pytest.mark.parametrize("build, shape", CASES)
def test_high_rank_values_are_lowered_exactly(tmp_path, four_dim_caffe, build, shape):
    symbol = build()
    shapes = {"data": shape}
    params = random_params(symbol, shapes)
    for target in ("ncnn", four_dim_caffe):
        compiled, comparisons = convert_and_compare(symbol, params, shapes, tmp_path, target=target)
        assert comparisons
        ranks = {v.name: v.type.rank for op in compiled.graph for v in op.results}
        assert max(ranks.values()) <= 4, ranks


def test_high_rank_values_stay_where_no_target_limits_them(tmp_path):
    symbol = split_attention(2, 1)
    shapes = {"data": (1, 3, 6, 6)}
    compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="caffe")
    assert "lower_rank" not in {r.name for r in compiled.report.records if r.rewrites}


def test_unmergeable_broadcast_is_refused_naming_the_op(tmp_path):
    """(N, 2, 3, 4, 5) × (N, 1, 3, 1, 5): every pair of adjacent axes is broadcast along one axis only."""
    x = mx.sym.reshape(_conv(mx.sym.var("data"), 24, "conv"), shape=(0, 2, 3, 4, 5))
    pooled = mx.sym.Pooling(mx.sym.var("data"), kernel=(1, 1), global_pool=True, pool_type="avg")
    gate = mx.sym.reshape(mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=15, name="g"), shape=(0, 1, 3, 1, 5))
    symbol = mx.sym.reshape(mx.sym.broadcast_mul(x, gate, name="mixed"), shape=(0, -3, -3), name="out")
    shapes = {"data": (1, 3, 1, 5)}
    with pytest.raises(IllegalForTarget, match="mixed.*at most 4 dims"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="ncnn")
