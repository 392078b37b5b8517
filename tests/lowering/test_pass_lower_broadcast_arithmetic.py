import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from tests.helpers import convert_and_compare, layer_types, random_params
from tests.lowering.pass_helpers import conv, graph_of, kinds, run

SHAPES = {"data": (1, 3, 5, 6)}


@pytest.mark.parametrize("op", ["broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div"])
@pytest.mark.parametrize("const_shape", [(1, 4, 1, 1), (4, 1, 1), (1, 1, 1, 6), (1,)])
def test_data_with_a_constant_becomes_scale_or_power(tmp_path, op, const_shape):
    c = mx.sym.var("k", shape=const_shape)
    # OpenCV fuses a Scale right after a Convolution as if it were per channel (see README known limits).
    symbol = getattr(mx.sym, op)(mx.sym.tanh(conv(mx.sym.var("data"), "c")), c, name="arith")
    params = random_params(symbol, SHAPES)
    params["k"] = np.random.RandomState(1).uniform(0.5, 2.0, const_shape).astype(np.float32)
    graph, _ = graph_of(symbol, SHAPES, params=params)
    assert run("lower_broadcast_arithmetic", graph)[0].rewrites == 1
    assert kinds(graph)[-1] == ("Power" if const_shape == (1,) else "Scale")
    convert_and_compare(symbol, params, SHAPES, tmp_path)


def test_constant_minus_data(tmp_path):
    symbol = mx.sym.broadcast_sub(mx.sym.var("k", shape=(1, 4, 1, 1)), conv(mx.sym.var("data"), "c"), name="rsub")
    convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


@pytest.mark.parametrize("op, layer", [("elemwise_sub", "Eltwise"), ("elemwise_mul", "Eltwise"),
                                       ("broadcast_mul", "Eltwise")])
def test_same_shaped_data(tmp_path, op, layer):
    data = mx.sym.var("data")
    symbol = getattr(mx.sym, op)(conv(data, "a"), conv(data, "b"), name="arith")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled)[-1] == layer


@pytest.mark.parametrize("target", ["caffe", "ncnn"])
def test_data_divided_by_data_is_a_product_with_the_reciprocal(tmp_path, target):
    """No Eltwise divides: x / y is x · y⁻¹ (Power {power −1}), one rounding more than MXNet's division."""
    data = mx.sym.var("data")
    symbol = mx.sym.elemwise_div(conv(data, "a"), conv(data, "b"), name="ratio")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path, target=target)
    assert layer_types(compiled)[-2:] == ["Power", "Eltwise"]
    assert compiled.net().layer[-2].power_param.power == -1
