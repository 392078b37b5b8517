import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from compiler.errors import UnsupportedOp
from compiler.options import Options
from tests.helpers import convert_and_compare
from tests.lowering.pass_helpers import conv, graph_of, run

SHAPES = {"data": (1, 3, 7, 7)}


def test_first_convolution_weights_are_reversed(tmp_path):
    symbol = conv(mx.sym.var("data"), "c")
    graph, params = graph_of(symbol, SHAPES)
    result, _ = run_once(graph)
    assert result.rewrites == 1
    np.testing.assert_array_equal(graph.ops_of("Convolution")[0].operands[1].const, params["c_weight"][:, ::-1])
    convert_and_compare(symbol, params, SHAPES, tmp_path, options=Options(to_bgr=True))


def test_channel_wise_ops_before_the_convolution_are_reversed_too(tmp_path):
    x = mx.sym.BatchNorm(mx.sym.var("data"), fix_gamma=False, name="bn")
    x = mx.sym.LeakyReLU(x, act_type="prelu", gamma=mx.sym.var("p_gamma"), name="p")
    symbol = mx.sym.FullyConnected(x, num_hidden=5, name="fc")
    graph, params = graph_of(symbol, SHAPES)
    result, _ = run_once(graph)
    assert result.rewrites == 3
    for merge_bn in (True, False):
        convert_and_compare(symbol, params, SHAPES, tmp_path, options=Options(to_bgr=True, merge_bn=merge_bn))


def test_a_consumer_that_is_not_channel_wise_is_refused():
    data = mx.sym.var("data")
    symbol = mx.sym.concat(data, conv(data, "c", 3), dim=1, name="cat")
    graph, _ = graph_of(symbol, SHAPES)
    with pytest.raises(UnsupportedOp, match="cat.*Concat is not a channel-wise op"):
        run_once(graph)


def test_grouped_convolution_on_the_input_is_refused():
    symbol = conv(mx.sym.var("data"), "dw", filters=3, num_group=3)
    graph, _ = graph_of(symbol, SHAPES)
    with pytest.raises(UnsupportedOp, match="dw"):
        run_once(graph)


def test_nothing_happens_without_to_bgr():
    graph, _ = graph_of(conv(mx.sym.var("data"), "c"), SHAPES)
    assert run("reorder_input_channels", graph)[0].rewrites == 0


def run_once(graph):
    from passes import REGISTRY
    from tests.lowering.pass_helpers import context

    # Not idempotent by design: a second run would reverse the channels back.
    ctx = context(to_bgr=True)
    result = REGISTRY["reorder_input_channels"](graph, ctx)
    graph.verify()
    return result, ctx
