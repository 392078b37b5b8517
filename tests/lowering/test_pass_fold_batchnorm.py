import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from compiler.options import Options
from tests.helpers import convert_and_compare
from tests.lowering.pass_helpers import conv, graph_of, kinds, run

SHAPES = {"data": (1, 3, 8, 8)}


def test_folds_into_single_use_convolution_and_keeps_numbers(tmp_path):
    symbol = mx.sym.BatchNorm(conv(mx.sym.var("data"), "c"), fix_gamma=False, eps=1e-5, name="bn")
    graph, params = graph_of(symbol, SHAPES)
    result, ctx = run("fold_batchnorm", graph)
    assert result.rewrites == 1 and kinds(graph) == ["Convolution"] and not ctx.skipped
    weight = graph.ops_of("Convolution")[0].operands[1].const
    s = params["bn_gamma"] / np.sqrt(params["bn_moving_var"] + np.float32(1e-5))
    np.testing.assert_allclose(weight, params["c_weight"] * s[:, None, None, None], rtol=1e-6)
    convert_and_compare(symbol, params, SHAPES, tmp_path)


def test_convolution_with_two_consumers_is_not_folded():
    c = conv(mx.sym.var("data"), "c")
    symbol = mx.sym.Group([mx.sym.BatchNorm(c, name="bn"), mx.sym.relu(c, name="r")])
    graph, _ = graph_of(symbol, SHAPES)
    result, ctx = run("fold_batchnorm", graph)
    assert result.rewrites == 0 and "BatchNorm" in kinds(graph)
    assert ctx.skipped and "single-use" in ctx.skipped[0][1]


def test_batchnorm_on_an_input_is_not_folded():
    graph, _ = graph_of(mx.sym.BatchNorm(mx.sym.var("data"), name="bn"), SHAPES)
    result, ctx = run("fold_batchnorm", graph)
    assert result.rewrites == 0 and ctx.skipped


def test_nothing_happens_without_merge_bn():
    symbol = mx.sym.BatchNorm(conv(mx.sym.var("data"), "c"), name="bn")
    graph, _ = graph_of(symbol, SHAPES)
    assert run("fold_batchnorm", graph, merge_bn=False)[0].rewrites == 0


def test_fully_connected_without_flatten_is_not_folded(tmp_path):
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, flatten=False, name="fc")
    symbol = mx.sym.BatchNorm(fc, fix_gamma=False, name="bn")
    graph, params = graph_of(symbol, SHAPES)
    result, ctx = run("fold_batchnorm", graph)
    assert result.rewrites == 0 and "channels last" in ctx.skipped[0][1]
    convert_and_compare(symbol, params, SHAPES, tmp_path, options=Options())
