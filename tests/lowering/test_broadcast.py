"""Data × data broadcasting (squeeze-and-excitation gates) as Caffe's two-bottom Scale, run in OpenCV and pycaffe."""
import mxnet as mx
import pytest

from compiler.errors import IllegalForTarget
from tests.helpers import convert_and_compare, layer_types, random_params


def _se(x, channels, reduced=2, gate_first=False):
    pooled = mx.sym.contrib.AdaptiveAvgPooling2D(x, output_size=1, name="squeeze")
    w = mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=reduced, name="reduce")
    w = mx.sym.Convolution(mx.sym.relu(w), kernel=(1, 1), num_filter=channels, name="expand")
    gate = mx.sym.sigmoid(w, name="gate")
    return mx.sym.broadcast_mul(gate, x, name="excite") if gate_first else mx.sym.broadcast_mul(x, gate, name="excite")


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("gate_first", [False, True])
def test_squeeze_and_excitation_gate(tmp_path, batch, gate_first):
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    symbol = mx.sym.relu(_se(x, 6, gate_first=gate_first), name="out")
    shapes = {"data": (batch, 3, 7, 5)}
    for target in ("caffe", "caffe-ssd", "ncnn"):
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        scale = [layer for layer in compiled.layers if layer.type == "Scale"]
        assert len(scale) == 1 and len(scale[0].bottoms) == 2 and not scale[0].blobs


def test_hard_swish_gate_of_mobilenetv3(tmp_path):
    """GluonCV's MobileNetV3 SE: relu6(x + 3) / 6 as the gate, multiplied in by broadcast_mul."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), pad=(1, 1), num_filter=4, name="conv")
    pooled = mx.sym.contrib.AdaptiveAvgPooling2D(x, output_size=1, name="squeeze")
    gate = mx.sym.clip(mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=4, name="fc") + 3.0, 0, 6) / 6.0
    symbol = mx.sym.broadcast_mul(x, gate, name="excite")
    shapes = {"data": (1, 3, 6, 6)}
    for target in ("caffe", "ncnn"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_a_gate_over_the_trailing_axes_is_refused():
    """(1, 1, H, W) × (N, C, H, W) is no leading block: no Scale layer multiplies them."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(1, 1), num_filter=3, name="conv")
    mask = mx.sym.Convolution(data, kernel=(1, 1), num_filter=1, name="mask")
    symbol = mx.sym.broadcast_mul(x, mask, name="masked")
    shapes = {"data": (1, 3, 4, 4)}
    with pytest.raises(IllegalForTarget, match="masked"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, "/tmp")


def test_non_square_gate_block_in_five_dimensions(tmp_path):
    """ResNeSt's split attention multiplies (N, R, C, 1, 1) into (N, R, C, H, W)."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(1, 1), num_filter=6, name="conv")
    split = mx.sym.reshape(x, shape=(0, 2, 3, 4, 4), name="split")
    gate = mx.sym.sigmoid(mx.sym.reshape(mx.sym.contrib.AdaptiveAvgPooling2D(x, output_size=1), shape=(0, 2, 3, 1, 1)))
    symbol = mx.sym.broadcast_mul(split, gate, name="attend")
    shapes = {"data": (1, 3, 4, 4)}
    compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="caffe")
    assert "Scale" in layer_types(compiled)
