import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.options import Options
from tests.helpers import convert_and_compare, layer_types
from tests.lowering.pass_helpers import graph_of, kinds, run

SHAPES = {"data": (1, 3, 5, 5)}


def test_unfoldable_batchnorm_becomes_one_scale(tmp_path):
    symbol = mx.sym.BatchNorm(mx.sym.var("data"), fix_gamma=False, name="bn")
    graph, params = graph_of(symbol, SHAPES)
    result, _ = run("lower_batchnorm", graph)
    assert result.rewrites == 1 and kinds(graph) == ["Scale"]
    compiled, _ = convert_and_compare(symbol, params, SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Scale"]


def test_batchnorm_is_kept_without_merge_bn(tmp_path):
    symbol = mx.sym.BatchNorm(mx.sym.var("data"), fix_gamma=False, name="bn")
    graph, params = graph_of(symbol, SHAPES)
    assert run("lower_batchnorm", graph, merge_bn=False)[0].rewrites == 0
    compiled, _ = convert_and_compare(symbol, params, SHAPES, tmp_path, options=Options(merge_bn=False))
    assert layer_types(compiled) == ["Input", "BatchNorm", "Scale"]
