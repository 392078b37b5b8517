"""Adaptive average pooling, bilinear resizing and nearest upsampling, each run in OpenCV and pycaffe against MXNet
for every target."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import target_names
from tests.helpers import convert_and_compare, layer_types, random_params

TARGETS = tuple(target_names())   # every target


def _conv(x, filters=4):
    return mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=filters, name="conv")


@pytest.mark.parametrize("shape, output_size, layer", [
    ((1, 3, 7, 9), 1, "Pooling"),
    ((2, 3, 8, 6), (4, 3), "Pooling"),
    ((1, 3, 7, 9), (3, 4), "Convolution"),
    ((2, 3, 10, 10), (6, 6), "Convolution"),
    ((1, 3, 5, 8), (5, 3), "Convolution"),
])
def test_adaptive_average_pooling(tmp_path, shape, output_size, layer):
    symbol = mx.sym.contrib.AdaptiveAvgPooling2D(_conv(mx.sym.var("data")), output_size=output_size, name="pool")
    shapes = {"data": shape}
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert layer in layer_types(compiled)[2:]


@pytest.mark.parametrize("shape, kwargs, native_interp", [
    ((1, 3, 5, 7), dict(height=10, width=14), True),
    ((1, 3, 5, 7), dict(height=10, width=14, align_corners=False), True),
    ((2, 3, 6, 4), dict(height=3, width=9), True),
    ((2, 3, 16, 12), dict(height=5, width=7, align_corners=False), True),
    ((1, 3, 5, 7), dict(scale_height=2.0, scale_width=1.5, mode="odd_scale"), True),
    ((1, 3, 8, 8), dict(height=60, width=60), True),
    # sides ncnn's Interp gets wrong or reads outside the row for: the composition instead
    ((1, 3, 6, 8), dict(height=1, width=5), False),
    ((1, 3, 1, 7), dict(height=4, width=9, align_corners=False), False),
])
def test_bilinear_resize(tmp_path, shape, kwargs, native_interp):
    """Every target; on ncnn-native, ncnn's own Interp where its weights are MXNet's."""
    symbol = mx.sym.contrib.BilinearResize2D(_conv(mx.sym.var("data")), name="resize", **kwargs)
    shapes = {"data": shape}
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert ("Interp" in layer_types(compiled)) == (native_interp and target == "ncnn-native"), target


def test_bilinear_resize_like_another_tensor(tmp_path):
    data = mx.sym.var("data")
    small = mx.sym.Pooling(_conv(data), kernel=(2, 2), stride=(2, 2), name="down")
    symbol = mx.sym.contrib.BilinearResize2D(small, _conv(data), mode="like", align_corners=False, name="up") + _conv(data)
    shapes = {"data": (1, 3, 9, 11)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


@pytest.mark.parametrize("scale", [2, 3])
def test_nearest_upsampling_is_a_unit_deconvolution(tmp_path, scale):
    symbol = mx.sym.UpSampling(_conv(mx.sym.var("data")), scale=scale, sample_type="nearest", name="up")
    shapes = {"data": (2, 3, 5, 4)}
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert layer_types(compiled)[-1] == "Deconvolution"


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bilinear_upsampling_with_its_weight_is_a_grouped_deconvolution(tmp_path, scale):
    """MXNet's bilinear UpSampling is itself a depthwise Deconvolution with its weight input (kernel 2s − s mod 2,
    stride s, pad ceil((s − 1)/2)); the weight here is random, which any trained one may be."""
    data = mx.sym.var("data")
    symbol = mx.sym.UpSampling(_conv(data, 3), mx.sym.var("up_weight"), scale=scale, sample_type="bilinear",
                               num_filter=3, name="up")
    shapes = {"data": (1, 3, 4, 5)}
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert layer_types(compiled)[-1] == "Deconvolution"
