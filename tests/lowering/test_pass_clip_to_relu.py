import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.options import Options
from tests.helpers import convert_and_compare, layer_types, random_params
from tests.lowering.pass_helpers import conv, graph_of, kinds

SHAPES = {"data": (1, 3, 6, 6)}


def _run(graph, layers=frozenset(), **options):
    from passes import REGISTRY
    from tests.lowering.pass_helpers import context

    ctx = context(layers, **options)
    result = REGISTRY["clip_to_relu"](graph, ctx)
    graph.verify()
    return result, ctx


def _clipped(a_min, a_max):
    # Scale the conv so that values reach past both bounds.
    return mx.sym.clip(conv(mx.sym.var("data"), "c") * 4.0, a_min=a_min, a_max=a_max, name="relu6")


@pytest.mark.parametrize("a_min, a_max, expected", [
    (0.0, 6.0, ["Activation", "Power", "Activation", "Power"]),
    (-1.5, 2.0, ["Power", "Activation", "Power", "Activation", "Power"]),
    (0.0, 3.4028234663852886e38, ["Activation"]),
    (-3.4028234663852886e38, 1.0, ["Power", "Activation", "Power"]),
    (0.5, 3.4028234663852886e38, ["Power", "Activation", "Power"]),
])
def test_clip_becomes_an_exact_composition(tmp_path, a_min, a_max, expected):
    symbol = _clipped(a_min, a_max)
    graph, params = graph_of(symbol, SHAPES)
    ops_before = [op for op in graph if op.kind != "Clip"]
    result, ctx = _run(graph)
    new = [op.kind for op in graph if op not in ops_before]
    assert result.rewrites == 1 and new == expected and not ctx.approximations
    convert_and_compare(symbol, params, SHAPES, tmp_path)


def test_relu6_is_native_where_the_target_has_it():
    graph, _ = graph_of(_clipped(0.0, 6.0), SHAPES)
    _run(graph, layers={"ReLU6"})
    assert kinds(graph)[-1] == "ReLU6" and graph.ops_of("ReLU6")[0].name == "relu6"


def test_relu6_approx_is_reported(tmp_path):
    symbol = _clipped(0.0, 6.0)
    graph, _ = graph_of(symbol, SHAPES)
    _, ctx = _run(graph, relu6="approx")
    assert ctx.approximations and "ReLU" in ctx.approximations[0][1]
    from compiler.driver.api import compile_graph

    compiled = compile_graph(graph_of(symbol, SHAPES)[0], "caffe", Options(relu6="approx"))
    assert not compiled.report.exact and "APPROXIMATE" in compiled.report.format_table()


def test_other_clips_ignore_the_relu6_option(tmp_path):
    symbol = _clipped(-1.0, 1.0)
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path,
                                      options=Options(relu6="approx"))
    assert compiled.report.exact and "Power" in layer_types(compiled)
