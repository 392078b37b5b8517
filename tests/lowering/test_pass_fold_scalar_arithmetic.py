import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from tests.helpers import convert_and_compare, layer_types
from tests.lowering.pass_helpers import conv, graph_of, kinds, run

SHAPES = {"data": (1, 3, 6, 6)}


def test_affine_chain_becomes_one_power(tmp_path):
    x = mx.sym.relu(conv(mx.sym.var("data"), "c"), name="r")
    symbol = mx.sym.tanh(((x * 2.0) + 1.0 - 0.5) / 4.0, name="t")
    graph, params = graph_of(symbol, SHAPES)
    result, _ = run("fold_scalar_arithmetic", graph)
    assert kinds(graph) == ["Convolution", "Activation", "Power", "Activation"]
    power = graph.ops_of("Power")[0].attrs
    assert (power.scale, power.shift) == (0.5, 0.125)
    compiled, _ = convert_and_compare(symbol, params, SHAPES, tmp_path)
    assert layer_types(compiled).count("Power") == 1


def test_affine_power_after_a_convolution_folds_into_its_weights(tmp_path):
    symbol = mx.sym.relu(3.0 - conv(mx.sym.var("data"), "c"), name="r")
    graph, params = graph_of(symbol, SHAPES)
    run("fold_scalar_arithmetic", graph)
    assert kinds(graph) == ["Convolution", "Activation"]
    np.testing.assert_allclose(graph.ops_of("Convolution")[0].operands[1].const, -params["c_weight"])
    convert_and_compare(symbol, params, SHAPES, tmp_path)


def test_non_affine_scalar_ops_stay_powers(tmp_path):
    x = mx.sym.relu(conv(mx.sym.var("data"), "c"), name="r") + 1.0
    symbol = mx.sym.Group([2.0 / x, x ** 2.0])
    graph, params = graph_of(symbol, SHAPES)
    run("fold_scalar_arithmetic", graph)
    powers = [op.attrs.power for op in graph.ops_of("Power")]
    assert sorted(powers) == [-1.0, 1.0, 2.0]
    convert_and_compare(symbol, params, SHAPES, tmp_path)


def test_power_with_two_users_is_not_folded_into_the_convolution():
    c = conv(mx.sym.var("data"), "c")
    symbol = mx.sym.Group([c * 2.0, c])
    graph, _ = graph_of(symbol, SHAPES)
    run("fold_scalar_arithmetic", graph)
    assert kinds(graph) == ["Convolution", "Power"]
