import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from tests.helpers import convert_and_compare, layer_types, random_params
from tests.lowering.pass_helpers import conv, graph_of, kinds

SHAPES = {"data": (1, 3, 4, 5)}


def _run(graph, layers=frozenset()):
    from passes import REGISTRY
    from tests.lowering.pass_helpers import context

    ctx = context(layers)
    result = REGISTRY["transpose_to_permute"](graph, ctx)
    graph.verify()
    return result


def test_inverse_transposes_cancel_on_every_target(tmp_path):
    x = mx.sym.transpose(conv(mx.sym.var("data"), "c"), axes=(0, 2, 3, 1), name="nhwc")
    symbol = mx.sym.relu(mx.sym.transpose(x, axes=(0, 3, 1, 2), name="nchw"), name="r")
    graph, _ = graph_of(symbol, SHAPES)
    assert _run(graph).rewrites == 1 and kinds(graph) == ["Convolution", "Activation"]
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", "ReLU"]


def test_two_transposes_merge_into_one():
    x = mx.sym.transpose(conv(mx.sym.var("data"), "c"), axes=(0, 2, 3, 1), name="a")
    graph, _ = graph_of(mx.sym.transpose(x, axes=(0, 2, 1, 3), name="b"), SHAPES)
    _run(graph)
    (t,) = graph.ops_of("Transpose")
    assert t.attrs.axes == (0, 3, 2, 1) and t.name == "b"


def test_transpose_becomes_permute_where_the_target_has_it():
    graph, _ = graph_of(mx.sym.transpose(conv(mx.sym.var("data"), "c"), axes=(0, 2, 3, 1), name="t"), SHAPES)
    assert _run(graph, layers={"Permute"}).rewrites == 1
    assert graph.ops_of("Permute")[0].attrs.order == (0, 2, 3, 1)


def test_transpose_stays_without_permute():
    graph, _ = graph_of(mx.sym.transpose(conv(mx.sym.var("data"), "c"), axes=(0, 2, 3, 1), name="t"), SHAPES)
    assert _run(graph).rewrites == 0 and kinds(graph) == ["Convolution", "Transpose"]
