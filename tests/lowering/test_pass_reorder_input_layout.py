import re

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from compiler.driver.cli import main
from tests.lowering.pass_helpers import conv, graph_of, kinds, run


def test_export_block_preprocessing_becomes_an_nchw_input():
    x = mx.sym.var("data")
    x = mx.sym.broadcast_minus(x, mx.sym.var("init_mean", shape=(1, 1, 1, 3)))
    x = mx.sym.broadcast_div(x, mx.sym.var("init_scale", shape=(1, 1, 1, 3)))
    symbol = conv(mx.sym.transpose(x, axes=(0, 3, 1, 2)), "c")
    params = {"init_mean": np.array([[[[123.675, 116.28, 103.53]]]], np.float32),
              "init_scale": np.array([[[[58.395, 57.12, 57.375]]]], np.float32),
              "c_weight": np.ones((4, 3, 3, 3), np.float32), "c_bias": np.zeros(4, np.float32)}
    graph, _ = graph_of(symbol, {"data": (1, 8, 8, 3)}, params=params)
    run("lower_broadcast_arithmetic", graph)
    result, ctx = run("reorder_input_layout", graph)
    assert result.rewrites == 1 and kinds(graph) == ["Scale", "Scale", "Convolution"]
    assert graph.inputs[0].type.shape == (1, 3, 8, 8) and "NCHW" not in ctx.warnings[0][1]
    assert all(op.attrs.axis == 1 for op in graph.ops_of("Scale"))


def test_gluoncv_export_block_model_converts_and_verifies(tmp_path, capsys):
    from gluoncv.utils import export_block

    from compiler.driver.zoo import random_zoo_model

    net = random_zoo_model("mobilenet0.25", 1, (1, 3, 64, 64))
    export_block(str(tmp_path / "exported"), net, data_shape=(64, 64, 3), preprocess=True, layout="HWC")
    code = main(["convert", str(tmp_path / "exported-symbol.json"), "--params", str(tmp_path / "exported-0000.params"),
                 "--input-shape", "1,64,64,3", "-o", str(tmp_path / "out"), "--to-bgr", "--verify", "--report"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "now takes (N, C, H, W)" in out
    assert max(float(v) for v in re.findall(r"relative ([0-9.e+-]+)", out)) <= 1e-4
    assert "dim: 3\n      dim: 64" in (tmp_path / "out.prototxt").read_text()
