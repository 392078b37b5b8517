"""Pixel shuffle (MXNet's PixelShuffle2D, GluonCV's DUC) and broadcast_like (AlphaPose's SE layer), run in OpenCV
and pycaffe against MXNet for every target."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import target_names
from tests.helpers import convert_and_compare, layer_types, random_params

TARGETS = tuple(target_names())   # every target


def _conv(x, filters, name):
    return mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=filters, name=name)


def pixel_shuffle(x, f1, f2):
    """The reshape → rank-6 transpose → reshape that PixelShuffle2D hybridises to."""
    x = mx.sym.reshape(x, shape=(0, -4, -1, f1 * f2, 0, 0))
    x = mx.sym.reshape(x, shape=(0, 0, -4, f1, f2, 0, 0))
    x = mx.sym.transpose(x, axes=(0, 1, 4, 2, 5, 3))
    return mx.sym.reshape(x, shape=(0, 0, -3, -3))


@pytest.mark.parametrize("factors, shape, channels", [((2, 2), (1, 3, 5, 6), 3), ((3, 2), (2, 3, 4, 3), 2),
                                                      ((1, 2), (1, 3, 3, 3), 4)])
def test_pixel_shuffle(tmp_path, factors, shape, channels):
    f1, f2 = factors
    x = mx.sym.relu(_conv(mx.sym.var("data"), channels * f1 * f2, "conv"))
    shuffled = pixel_shuffle(x, f1, f2)
    symbol = _conv(mx.sym.BatchNorm(shuffled, name="bn"), 2, "after")
    shapes = {"data": shape}
    params = random_params(symbol, shapes)
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, params, shapes, tmp_path, target=target)
        assert ("Permute" in layer_types(compiled)) == (target == "caffe-ssd")
        assert ("Deconvolution" in layer_types(compiled)) == (target != "caffe-ssd")


def test_pixel_shuffle_block_as_gluon_hybridises_it(tmp_path):
    block = mx.gluon.contrib.nn.PixelShuffle2D((2, 3))
    symbol = block(mx.sym.relu(_conv(mx.sym.var("data"), 12, "conv")))
    shapes = {"data": (1, 3, 4, 5)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_broadcast_like_into_a_product(tmp_path):
    """AlphaPose's SE layer: gate (N, C) → expand_dims twice → broadcast_like(x) * x."""
    x = _conv(mx.sym.var("data"), 4, "conv")
    gate = mx.sym.sigmoid(mx.sym.FullyConnected(mx.sym.contrib.AdaptiveAvgPooling2D(x, output_size=1),
                                                num_hidden=4, name="fc"))
    symbol = mx.sym.relu(mx.sym.broadcast_like(gate.expand_dims(-1).expand_dims(-1), x) * x, name="out")
    shapes = {"data": (2, 3, 5, 4)}
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert "BroadcastLike" not in {op.kind for op in compiled.graph}


def test_broadcast_like_of_named_axes_into_a_product(tmp_path):
    x = _conv(mx.sym.var("data"), 3, "conv")
    gate = mx.sym.sigmoid(mx.sym.mean(x, axis=(2, 3), keepdims=True))
    symbol = mx.sym.elemwise_mul(mx.sym.broadcast_like(gate, x, lhs_axes=(2, 3), rhs_axes=(2, 3)), x, name="out")
    shapes = {"data": (2, 3, 4, 5)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


@pytest.mark.parametrize("target", ["caffe", "caffe-ssd", "ncnn"])
def test_broadcast_like_as_an_output_is_repeated_by_a_unit_deconvolution(tmp_path, target):
    """A broadcast_like no arithmetic absorbs: the (N, C, 1, 1) mean spread over H×W by a grouped Deconvolution whose
    (H, W) kernel is all ones."""
    x = _conv(mx.sym.var("data"), 3, "conv")
    symbol = mx.sym.broadcast_like(mx.sym.mean(x, axis=(2, 3), keepdims=True), x, name="repeated")
    shapes = {"data": (1, 3, 4, 5)}
    compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
    spread = compiled.layers[-1]
    assert spread.type == "Deconvolution" and spread.blobs[0].shape == (3, 1, 4, 5) and (spread.blobs[0] == 1).all()


@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 3, 3, 3)])
def test_yolo_upsampling_by_repeat_then_slice_like(tmp_path, shape):
    """GluonCV's YOLOv3 _upsample: repeat along W then H, then slice_like the route it is concatenated with."""
    x = _conv(mx.sym.var("data"), 4, "conv")
    up = mx.sym.repeat(mx.sym.repeat(x, repeats=2, axis=-1), repeats=2, axis=-2)
    route = mx.sym.Deconvolution(x, kernel=(2, 2), stride=(2, 2), num_filter=3, name="route")
    symbol = mx.sym.concat(mx.sym.slice_like(up, route * 0, axes=(2, 3)), route, dim=1, name="out")
    shapes = {"data": shape}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_slice_like_that_cuts(tmp_path):
    x = _conv(mx.sym.var("data"), 4, "conv")
    small = mx.sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max")
    symbol = mx.sym.relu(mx.sym.slice_like(x, small, axes=(2, 3)), name="out")
    shapes = {"data": (1, 3, 6, 5)}
    convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)


def test_repeat_over_channels_is_refused_naming_the_attribute(tmp_path):
    symbol = mx.sym.repeat(_conv(mx.sym.var("data"), 4, "conv"), repeats=2, axis=1, name="copies")
    shapes = {"data": (1, 3, 4, 4)}
    with pytest.raises(Exception, match="copies.*axis"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)
