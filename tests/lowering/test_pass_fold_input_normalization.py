import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.driver.api import compile_graph
from compiler.errors import BadAttribute
from compiler.options import Options
from compiler.driver.verify import compare_outputs, paired_inputs, run_runtime
from tests.helpers import layer_types, mxnet_outputs, random_params
from tests.lowering.pass_helpers import conv, graph_of

SHAPES = {"data": (1, 3, 9, 9)}
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


def _check(symbol, options, tmp_path):
    params = random_params(symbol, SHAPES)
    compiled = compile_graph(graph_of(symbol, SHAPES, params=params)[0], "caffe", options)
    prototxt, caffemodel = compiled.save(str(tmp_path / "m"))
    mxnet_side, caffe_side = paired_inputs(compiled.inputs, 3)
    assert caffe_side["data"].min() >= 0 and caffe_side["data"].max() > 100   # raw pixels
    reference = mxnet_outputs(symbol, params, mxnet_side)
    actual = run_runtime("opencv", prototxt, caffemodel, caffe_side, compiled.output_layers)
    (result,) = compare_outputs(["out"], reference, actual)
    assert result.ok, str(result)
    return compiled


@pytest.mark.parametrize("to_bgr", [False, True])
def test_mean_and_std_become_a_scale_at_the_input(tmp_path, to_bgr):
    symbol = mx.sym.relu(conv(mx.sym.var("data"), "c"), name="r")
    compiled = _check(symbol, Options(mean=MEAN, std=STD, to_bgr=to_bgr), tmp_path)
    assert layer_types(compiled) == ["Input", "Scale", "Convolution", "ReLU"]


def test_scale_alone_folds_into_the_first_convolution(tmp_path):
    symbol = mx.sym.relu(conv(mx.sym.var("data"), "c"), name="r")
    compiled = _check(symbol, Options(std=STD, input_scale=1 / 255, to_bgr=True), tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", "ReLU"]


def test_wrong_number_of_values_is_an_error():
    symbol = conv(mx.sym.var("data"), "c")
    with pytest.raises(BadAttribute, match="mean"):
        compile_graph(graph_of(symbol, SHAPES)[0], "caffe", Options(mean=(1.0, 2.0)))

