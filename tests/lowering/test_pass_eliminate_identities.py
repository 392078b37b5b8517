import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from tests.lowering.pass_helpers import conv, graph_of, kinds, run

SHAPES = {"data": (1, 3, 6, 6)}


def test_dropout_copy_and_identity_reshape_are_removed():
    x = conv(mx.sym.var("data"), "c")
    x = mx.sym.Dropout(x, p=0.3, name="drop")
    x = mx.sym.identity(x, name="copy")
    x = mx.sym.Reshape(x, shape=(0, 0, 0, 0), name="same")
    graph, _ = graph_of(mx.sym.relu(x, name="r"), SHAPES)
    result, _ = run("eliminate_identities", graph)
    assert result.rewrites == 3 and kinds(graph) == ["Convolution", "Activation"]


def test_real_reshape_and_dropout_always_stay():
    x = mx.sym.Dropout(conv(mx.sym.var("data"), "c"), mode="always", name="drop")
    graph, _ = graph_of(mx.sym.Reshape(x, shape=(0, -1), name="flat"), SHAPES)
    result, ctx = run("eliminate_identities", graph)
    assert result.rewrites == 0 and kinds(graph) == ["Convolution", "Dropout", "Reshape"]
    assert "always" in ctx.skipped[0][1]


def test_transpose_of_unit_axes_becomes_reshape_and_real_transpose_stays():
    pooled = mx.sym.Pooling(conv(mx.sym.var("data"), "c"), global_pool=True, kernel=(1, 1), name="gap")
    unit = mx.sym.transpose(pooled, axes=(0, 2, 3, 1), name="unit")
    real = mx.sym.transpose(conv(mx.sym.var("data"), "d"), axes=(0, 2, 3, 1), name="real")
    graph, _ = graph_of(mx.sym.Group([unit, real]), SHAPES)
    result, _ = run("eliminate_identities", graph)
    assert result.rewrites == 1 and sorted(kinds(graph)) == ["Convolution", "Convolution", "Pooling", "Reshape",
                                                            "Transpose"]
