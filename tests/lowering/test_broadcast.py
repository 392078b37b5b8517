"""Data × data broadcasting (squeeze-and-excitation gates) as Caffe's two-bottom Scale, run in OpenCV and pycaffe."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

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
    for target in ("caffe", "ncnn", "ncnn-native"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


@pytest.mark.parametrize("kind", ["broadcast_mul", "broadcast_add", "broadcast_sub", "broadcast_maximum",
                                  "broadcast_minimum"])
def test_a_map_over_the_trailing_axes_is_repeated_exactly(tmp_path, kind):
    """(N, 1, H, W) ∘ (N, C, H, W) is no leading block: the map is repeated over the channels by a 1×1 Convolution
    with unit weights (YOLOv3's class scores × objectness have this form)."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(1, 1), num_filter=3, name="conv")
    mask = mx.sym.Convolution(data, kernel=(1, 1), num_filter=1, name="mask")
    symbol = getattr(mx.sym, kind)(mask, x, name="masked")
    shapes = {"data": (2, 3, 4, 4)}
    for target in ("caffe", "caffe-ssd", "ncnn"):
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        repeat = next(layer for layer in compiled.layers if layer.name.startswith("masked_lhs"))
        # all ones (−1 for the minimum, whose negation folds into the repeat)
        assert repeat.type == "Convolution" and (np.abs(repeat.blobs[0]) == 1).all() and repeat.blobs[0].shape == (3, 1, 1, 1)


def test_broadcast_between_ranks_gives_the_smaller_rank_leading_ones(tmp_path):
    """(1, 3, 4, 4) · (4, 4): the plane is read as (1, 1, 4, 4) and repeated over the channels."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(1, 1), num_filter=3, name="conv")
    plane = mx.sym.reshape(mx.sym.Convolution(data, kernel=(1, 1), num_filter=1, name="mask"), shape=(4, 4))
    symbol = mx.sym.broadcast_mul(x, plane, name="masked")
    shapes = {"data": (1, 3, 4, 4)}
    convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="caffe")
    for target in ("ncnn", "ncnn-native"):   # the (4, 4) plane has no batch axis, which ncnn has not
        with pytest.raises(IllegalForTarget, match="batch axis"):
            convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_broadcast_over_the_batch_beyond_the_copy_limit_is_refused(tmp_path):
    """Only a Concat repeats the batch axis: (1, C, H, W) + (2000, C, H, W) would take 2000 copies."""
    data = mx.sym.var("data")
    one = mx.sym.slice_axis(mx.sym.Convolution(data, kernel=(1, 1), num_filter=2, name="conv"), axis=0, begin=0, end=1)
    symbol = mx.sym.broadcast_add(one, mx.sym.Convolution(data, kernel=(1, 1), num_filter=2, name="other"),
                                  name="summed")
    shapes = {"data": (1025, 1, 1, 1)}
    with pytest.raises(IllegalForTarget, match="summed"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)


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


@pytest.mark.parametrize("const_shape", [(1, 1, 2, 3), (1, 4, 2, 1), (2, 3)])
@pytest.mark.parametrize("op", ["add", "sub", "rsub", "mul", "div"])
def test_constants_off_the_channel_axis_on_a_per_channel_scale_target(tmp_path, const_shape, op):
    """ncnn's Scale ignores axis/num_axes: a constant varying along H or W (YOLOv3's grid and anchors) becomes a
    blob (zero-weight InnerProduct bias) and an Eltwise there; Scale{axis, num_axes} elsewhere."""
    data = mx.sym.var("data")
    x = mx.sym.relu(mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv")) + 0.5
    c = mx.sym.var("c", shape=const_shape)
    symbol = {"add": lambda: mx.sym.broadcast_add(x, c), "sub": lambda: mx.sym.broadcast_sub(x, c),
              "rsub": lambda: mx.sym.broadcast_sub(c, x), "mul": lambda: mx.sym.broadcast_mul(x, c),
              "div": lambda: mx.sym.broadcast_div(x, c)}[op]()
    symbol = mx.sym.Convolution(symbol, kernel=(1, 1), num_filter=2, name="after")
    shapes = {"data": (2, 3, 2, 3)}
    params = random_params(symbol, shapes)
    params["c"] = params["c"] + 2.0   # away from zero for the division
    for target in ("ncnn", "caffe"):
        compiled, _ = convert_and_compare(symbol, params, shapes, tmp_path, target=target)
        types = [layer.type for layer in compiled.layers]
        assert ("InnerProduct" in types) == (target == "ncnn") and ("Scale" in types) == (target == "caffe")
