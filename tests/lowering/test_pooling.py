import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.errors import IllegalForTarget
from compiler.ops.nn import pooled_size
from tests.helpers import convert_and_compare, layer_types

CASES = [
    # (input size, kernel, stride, pad, convention)
    (112, 3, 2, 1, "valid"),     # floor 56, ceil 57: needs the exact Slice
    (7, 2, 2, 0, "valid"),       # floor 3, ceil 4
    (8, 3, 2, 0, "valid"),       # floor 3, ceil 4
    (9, 3, 2, 1, "valid"),       # equal
    (8, 3, 2, 0, "full"),        # ceil 4, Caffe 4
    (17, 3, 2, 1, "full"),
    (6, 3, 1, 1, "full"),
    (10, 2, 2, 0, "full"),
]


def _pool_symbol(kernel, stride, pad, convention, pool_type, **extra):
    data = mx.sym.var("data")
    return mx.sym.Pooling(data, kernel=(kernel, kernel), stride=(stride, stride), pad=(pad, pad),
                          pooling_convention=convention, pool_type=pool_type, name="pool", **extra)


@pytest.mark.parametrize("pool_type", ["max", "avg"])
@pytest.mark.parametrize("size, kernel, stride, pad, convention", CASES)
def test_pooling_output_sizes_and_values_match(tmp_path, pool_type, size, kernel, stride, pad, convention):
    symbol = _pool_symbol(kernel, stride, pad, convention, pool_type)
    shapes = {"data": (1, 2, size, size)}
    compiled, _ = convert_and_compare(symbol, {}, shapes, tmp_path)
    floor = pooled_size(size, kernel, stride, pad, "valid")
    ceil = pooled_size(size, kernel, stride, pad, "full")
    if convention == "valid" and floor != ceil:
        assert layer_types(compiled) == ["Input", "Pooling", "Slice", "Silence", "Slice", "Silence"]
    else:
        assert layer_types(compiled) == ["Input", "Pooling"]


def test_non_square_pooling(tmp_path):
    data = mx.sym.var("data")
    symbol = mx.sym.Pooling(data, kernel=(3, 2), stride=(2, 1), pad=(1, 0), pool_type="max", name="pool")
    compiled, _ = convert_and_compare(symbol, {}, {"data": (1, 2, 10, 7)}, tmp_path)
    assert layer_types(compiled) == ["Input", "Pooling", "Slice", "Silence"]


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_global_pooling(tmp_path, pool_type):
    data = mx.sym.var("data")
    symbol = mx.sym.Pooling(data, kernel=(1, 1), global_pool=True, pool_type=pool_type,
                            pooling_convention="full", name="pool")
    compiled, _ = convert_and_compare(symbol, {}, {"data": (1, 3, 7, 5)}, tmp_path)
    assert compiled.net().layer[1].pooling_param.global_pooling


def test_avg_pooling_excluding_padding_without_pad_is_exact(tmp_path):
    symbol = _pool_symbol(2, 2, 0, "full", "avg", count_include_pad=False)
    convert_and_compare(symbol, {}, {"data": (1, 2, 7, 7)}, tmp_path)


@pytest.mark.parametrize("kernel, stride, pad, convention, size", [
    (3, 2, 1, "valid", (8, 8)), (3, 1, 1, "valid", (7, 6)), (3, 2, 1, "full", (7, 7)), (2, 2, 1, "valid", (5, 6)),
    (5, 2, 2, "valid", (9, 9)),
])
def test_avg_pooling_excluding_padding_with_pad_is_exact(tmp_path, kernel, stride, pad, convention, size):
    """Caffe divides by the padded window; a per-position factor (one Scale, or Power strips for ncnn, whose
    Scale ignores axes) turns that into MXNet's count of real cells."""
    symbol = _pool_symbol(kernel, stride, pad, convention, "avg", count_include_pad=False)
    for target in ("caffe", "caffe-ssd", "ncnn"):
        try:
            convert_and_compare(symbol, {}, {"data": (2, 2, *size)}, tmp_path, target=target)
        except IllegalForTarget as exc:   # ncnn's depthwise form needs floor sizes; the message says so
            assert target == "ncnn" and "rounds up" in str(exc), exc


def test_full_window_entirely_in_padding_is_refused(tmp_path):
    symbol = _pool_symbol(2, 2, 1, "full", "max")
    with pytest.raises(IllegalForTarget, match="entirely outside the input"):
        convert_and_compare(symbol, {}, {"data": (1, 2, 3, 3)}, tmp_path)


@pytest.mark.parametrize("kernel, stride, pad, convention", [(2, 2, 0, "valid"), (3, 2, 1, "valid"),
                                                              (3, 2, 1, "full"), (3, 1, 1, "valid")])
@pytest.mark.parametrize("pool_type, extra", [("sum", {}), ("lp", {"p_value": 1}), ("lp", {"p_value": 2})])
@pytest.mark.parametrize("target", ["caffe", "ncnn"])
def test_sum_and_lp_pooling(tmp_path, kernel, stride, pad, convention, pool_type, extra, target):
    """A sum is Caffe's average times its divisor per position; L1 pooling is MXNet's sum of x (not |x|); L2 is
    the square root of a sum of squares."""
    symbol = _pool_symbol(kernel, stride, pad, convention, pool_type, **extra)
    if target == "ncnn" and pad and convention == "full":   # as for avg: ncnn's exact form rounds down only
        with pytest.raises(IllegalForTarget, match="rounds up"):
            convert_and_compare(symbol, {}, {"data": (1, 2, 9, 8)}, tmp_path, target=target)
        return
    convert_and_compare(symbol, {}, {"data": (1, 2, 9, 8)}, tmp_path, target=target)


@pytest.mark.parametrize("target", ["caffe", "ncnn"])
def test_global_sum_pooling(tmp_path, target):
    symbol = mx.sym.Pooling(mx.sym.var("data"), kernel=(1, 1), global_pool=True, pool_type="sum", name="pool")
    convert_and_compare(symbol, {}, {"data": (2, 3, 5, 7)}, tmp_path, target=target)


def test_lp_pooling_with_p_3_is_refused(tmp_path):
    symbol = _pool_symbol(2, 2, 0, "valid", "lp", p_value=3)
    with pytest.raises(IllegalForTarget, match="p_value 3.*signed sum"):
        convert_and_compare(symbol, {}, {"data": (1, 2, 8, 8)}, tmp_path)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_the_interpreter_pools_lp_as_mxnet_does_on_signed_input(p):
    """p 1 sums x itself, p 3 takes the real cube root of a signed sum (no Caffe form, but the interpreter is the
    reference of the graph as imported)."""
    import numpy as np

    from compiler.ops.nn import Pooling

    x = np.random.RandomState(p).standard_normal((1, 2, 6, 6)).astype(np.float32)
    expected = mx.nd.Pooling(mx.nd.array(x), kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=p).asnumpy()
    assert (expected < 0).any() or p == 2
    got = Pooling(kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=p).evaluate(x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
