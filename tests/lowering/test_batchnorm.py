import json

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from compiler.frontend.symbol import import_symbol
from compiler.options import Options
from tests.helpers import convert_and_compare, layer_types, random_params


def _conv_bn(**bn_kwargs):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=6, pad=(1, 1), name="conv")
    return mx.sym.BatchNorm(conv, name="bn", **bn_kwargs)


@pytest.mark.parametrize("merge_bn", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_batchnorm_after_convolution(tmp_path, merge_bn, fix_gamma):
    symbol = _conv_bn(fix_gamma=fix_gamma, eps=1e-5)
    shapes = {"data": (2, 3, 9, 9)}
    params = random_params(symbol, shapes)
    params["bn_gamma"] = np.array([5, 2, 3, 0.5, 4, 1.5], np.float32)   # ignored under fix_gamma
    compiled, _ = convert_and_compare(symbol, params, shapes, tmp_path, options=Options(merge_bn=merge_bn))
    expected = ["Input", "Convolution"] if merge_bn else ["Input", "Convolution", "BatchNorm", "Scale"]
    assert layer_types(compiled) == expected


def test_fix_gamma_ignores_a_stored_gamma(tmp_path):
    data = mx.sym.var("data")
    symbol = mx.sym.BatchNorm(data, fix_gamma=True, eps=1e-3, name="bn")   # not foldable: input is data
    shapes = {"data": (1, 4, 5, 5)}
    params = random_params(symbol, shapes)
    params["bn_gamma"] = np.array([5, 2, 3, 7], np.float32)
    for merge_bn in (True, False):
        compiled, _ = convert_and_compare(symbol, params, shapes, tmp_path, options=Options(merge_bn=merge_bn))
        scale = [layer for layer in compiled.layers if layer.type == "Scale"][0]
        if not merge_bn:
            assert (scale.blobs[0] == 1).all()


def test_missing_eps_takes_the_operator_default(tmp_path):
    symbol = _conv_bn(fix_gamma=False)
    document = json.loads(symbol.tojson())
    bn = [n for n in document["nodes"] if n["name"] == "bn"][0]
    bn["attrs"].pop("eps", None)
    bn["attrs"]["fix_gamma"] = "False"
    symbol = mx.sym.load_json(json.dumps(document))
    shapes = {"data": (1, 3, 6, 6)}
    params = random_params(symbol, shapes)
    params["bn_moving_var"] = np.full(6, 2e-3, np.float32)   # eps matters at this scale
    graph = import_symbol(symbol, params, shapes)
    assert graph.ops_of("BatchNorm")[0].attrs.eps == pytest.approx(1e-3)
    convert_and_compare(symbol, params, shapes, tmp_path, options=Options(merge_bn=False))
    convert_and_compare(symbol, params, shapes, tmp_path, options=Options(merge_bn=True))


def test_batchnorm_after_fully_connected_folds(tmp_path):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=7, name="fc")
    symbol = mx.sym.BatchNorm(fc, fix_gamma=False, eps=1e-5, name="bn")
    shapes = {"data": (2, 3, 4, 4)}
    compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)
    assert layer_types(compiled) == ["Input", "InnerProduct"]
