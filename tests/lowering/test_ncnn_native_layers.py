"""Ops that only ncnn's own layers compute (MatMul, DeformableConv2D): exact in the ncnn runtime on the ncnn-native
target against MXNet, and refused on every Caffe target with a reason naming the target that has them."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")

from compiler.errors import IllegalForTarget
from tests.helpers import convert_and_compare, layer_types, random_params

CAFFE_TARGETS = ("caffe", "caffe-ssd", "ncnn", "rknn")


def _refused_on_caffe_targets(symbol, shapes, tmp_path, layer: str) -> None:
    for target in CAFFE_TARGETS:
        with pytest.raises(IllegalForTarget, match=f"needs layer.*{layer}.*ncnn-native"):
            convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


@pytest.mark.parametrize("transpose_a, transpose_b", [(False, False), (True, False), (False, True), (True, True)])
def test_batch_dot_of_two_activations_is_ncnns_matmul(tmp_path, transpose_a, transpose_b):
    """DANet's attention: (N, HW, C') · (N, C', HW) of two convolutions of the same map, each sample apart."""
    data = mx.sym.var("data")
    shapes = {"data": (2, 3, 4, 5)}
    left = mx.sym.reshape(mx.sym.Convolution(data, kernel=(1, 1), num_filter=6, name="query"), shape=(0, 6, -1))
    right = mx.sym.reshape(mx.sym.Convolution(data, kernel=(1, 1), num_filter=6, name="key"), shape=(0, 6, -1))
    left = left if transpose_a else mx.sym.transpose(left, axes=(0, 2, 1))
    right = mx.sym.transpose(right, axes=(0, 2, 1)) if transpose_b else right
    symbol = mx.sym.batch_dot(left, right, transpose_a=transpose_a, transpose_b=transpose_b, name="energy")
    compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                target="ncnn-native")
    assert comparisons and layer_types(compiled).count("MatMul") == 1
    _refused_on_caffe_targets(symbol, shapes, tmp_path, "MatMul")


@pytest.mark.parametrize("shape, kwargs", [
    ((1, 3, 7, 9), dict(kernel=(3, 3), pad=(1, 1))),
    ((2, 4, 8, 6), dict(kernel=(3, 3), pad=(1, 1), stride=(2, 2))),
    ((1, 2, 9, 7), dict(kernel=(3, 2), pad=(2, 1), dilate=(2, 1))),
])
def test_modulated_deformable_convolution_is_ncnns_deformable_conv2d(tmp_path, shape, kwargs):
    """CenterNet's dcnv2: offsets from a convolution, scaled so that taps land between pixels, on other pixels and
    outside the image; the mask a sigmoid, as in GluonCV's block."""
    data = mx.sym.var("data")
    shapes = {"data": shape}
    taps = kwargs["kernel"][0] * kwargs["kernel"][1]
    probe = mx.sym.Convolution(data, num_filter=1, name="probe", **kwargs)   # the output size of the geometry
    out_hw = probe.infer_shape(**shapes)[1][0][2:]
    offset = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=2 * taps, name="offset") * 3.0
    offset = mx.sym.contrib.BilinearResize2D(offset, height=out_hw[0], width=out_hw[1], name="offset_sized") \
        if tuple(out_hw) != shape[2:] else offset
    mask = mx.sym.sigmoid(mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=taps, name="mask"))
    mask = mx.sym.contrib.BilinearResize2D(mask, height=out_hw[0], width=out_hw[1], name="mask_sized") \
        if tuple(out_hw) != shape[2:] else mask
    symbol = mx.sym.contrib.ModulatedDeformableConvolution(data, offset, mask, num_filter=5, name="dcn", **kwargs)
    compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                target="ncnn-native")
    assert comparisons and layer_types(compiled).count("DeformableConv2D") == 1
    _refused_on_caffe_targets(symbol, shapes, tmp_path, "DeformableConv2D")


def test_more_than_one_deformable_group_is_refused_by_name(tmp_path):
    data = mx.sym.var("data")
    shapes = {"data": (1, 4, 6, 6)}
    offset = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=2 * 2 * 9, name="offset")
    mask = mx.sym.sigmoid(mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=2 * 9, name="mask"))
    symbol = mx.sym.contrib.ModulatedDeformableConvolution(data, offset, mask, kernel=(3, 3), pad=(1, 1),
                                                           num_filter=4, num_deformable_group=2, name="dcn")
    with pytest.raises(Exception, match="dcn.*num_deformable_group"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="ncnn-native")


@pytest.mark.parametrize("kwargs, like_shape", [(dict(), (2, 20, 6)), (dict(lhs_begin=2, rhs_begin=2), (2, 6, 4, 5)),
                                                (dict(lhs_begin=1, lhs_end=3, rhs_begin=1, rhs_end=2), (2, 24, 5))])
def test_reshape_like(tmp_path, kwargs, like_shape):
    """DANet writes its attention back into the feature map's shape with reshape_like over a range of axes."""
    data = mx.sym.var("data")
    shapes = {"data": (2, 6, 4, 5)}
    flat = mx.sym.reshape(mx.sym.Convolution(data, kernel=(1, 1), num_filter=6, name="conv"), shape=(0, 6, -1))
    source = flat if kwargs.get("lhs_begin") == 2 else mx.sym.relu(data, name="relu")
    like = mx.sym.reshape(data, shape=like_shape, name="like")
    symbol = mx.sym.Group([mx.sym.reshape_like(source, like, name="back", **kwargs), mx.sym.relu(like)])
    expected = symbol.infer_shape(**shapes)[1][0]
    for target in ("caffe", "ncnn-native"):
        compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                    target=target)
        assert comparisons and compiled.graph.outputs[0].type.shape == tuple(expected)
