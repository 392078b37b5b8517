"""ncnn's own layers on the ncnn-native target, exact in the ncnn runtime against MXNet: ops that only they compute
(MatMul, DeformableConv2D; refused on every Caffe target with a reason naming the target that has them) and
compositions one of them computes alone (Clip, HardSigmoid, HardSwish, ShuffleChannel; the other targets keep the
composition)."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")

from compiler.errors import IllegalForTarget
from backends import target_names
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


def _hard_sigmoid_block(x, name: str):
    """GluonCV's MobileNetV3 HardSigmoid: relu6(x + 3) / 6, the relu6 a clip."""
    return mx.sym.clip(x + 3.0, 0, 6, name=f"{name}_relu6") / 6.0


def _gluoncv_hard_swish(data):
    x = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    return x * _hard_sigmoid_block(x, "hswish")


def _se_gate(data):
    x = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    squeezed = mx.sym.Convolution(mx.sym.mean(x, axis=(2, 3), keepdims=True), kernel=(1, 1), num_filter=6, name="fc")
    return mx.sym.broadcast_mul(x, _hard_sigmoid_block(squeezed, "gate"))


def _mxnet_hard_sigmoid(data):
    x = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    return mx.sym.hard_sigmoid(x, alpha=0.3, beta=0.4, name="hsig")


def _gate_read_twice(data):
    """The gate is an output as well as a factor: the gate fuses, the product stays an Eltwise."""
    x = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    gate = _hard_sigmoid_block(x, "hsig")
    return mx.sym.Group([x * gate, gate])


def _clip_not_scaled_to_one(data):
    x = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    return x * (mx.sym.clip(x + 3.0, 0, 6) / 5.0)


def _negative_slope(data):
    """A falling gate (x is read twice, so its slope is not folded into the convolution's weights)."""
    x = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, name="conv")
    return mx.sym.Group([mx.sym.hard_sigmoid(x, alpha=-0.2, beta=0.5, name="hsig"), mx.sym.relu(x)])


@pytest.mark.parametrize("build, native", [
    (_gluoncv_hard_swish, {"HardSwish": 1}),
    (_se_gate, {"HardSigmoid": 1}),
    (_mxnet_hard_sigmoid, {"HardSigmoid": 1}),
    (_gate_read_twice, {"HardSigmoid": 1, "Eltwise": 1}),
    (_clip_not_scaled_to_one, {}),
    (_negative_slope, {}),
])
def test_hard_activations_are_ncnns_layers_where_they_compute_them(tmp_path, build, native):
    """Inputs scaled to reach both bends of the gate (±3 for MobileNetV3's); on ncnn-native the fused layers replace
    every Power and Clip of the composition; every target verifies."""
    shapes = {"data": (2, 3, 6, 7)}
    symbol = build(mx.sym.var("data") * 4.0)
    for target in target_names():
        compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                    target=target)
        types = layer_types(compiled)
        assert comparisons
        fused = {layer: types.count(layer) for layer in ("HardSigmoid", "HardSwish") if layer in types}
        if target != "ncnn-native":
            assert not fused, target
        elif native:
            assert fused == {k: v for k, v in native.items() if k != "Eltwise"}
            assert "Clip" not in types and "ReLU6" not in types and types.count("Eltwise") == native.get("Eltwise", 0)
        else:
            assert not fused


@pytest.mark.parametrize("build", [
    lambda x: mx.sym.clip(x, -1.5, 2.5, name="clip"),
    lambda x: mx.sym.maximum(x, -0.75),
    lambda x: mx.sym.minimum(x, 1.25),
])
def test_a_clip_is_ncnns_clip(tmp_path, build):
    """The convolution of 27 random products reaches the bounds; on ncnn-native one Clip (an open bound written as ±FLT_MAX), elsewhere the ReLU and Power
    composition; every target verifies."""
    shapes = {"data": (2, 3, 6, 7)}
    symbol = build(mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), pad=(1, 1), num_filter=4, name="conv"))
    for target in target_names():
        compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                    target=target)
        types = layer_types(compiled)
        assert comparisons and ("Clip" in types) == (target == "ncnn-native"), target
        if target == "ncnn-native":
            assert types == ["Input", "Convolution", "Clip"]


def _shufflenet_shuffle(x):
    """GluonCV's ShuffleNet: (N, g, C/g, H, W) by reshape codes, swapaxes, back to 4-D."""
    grouped = mx.sym.reshape(x, shape=(0, -4, 3, -1, -2))
    return mx.sym.reshape(mx.sym.swapaxes(grouped, dim1=1, dim2=2), shape=(0, -3, -2))


def _inner_swap(x):
    """Axes 2 and 3 of (N, 2, 3, 2, H·W) swapped: within each half of the channels, not a shuffle of them all."""
    grouped = mx.sym.reshape(x, shape=(0, 2, 3, 2, -1))
    return mx.sym.reshape(mx.sym.transpose(grouped, axes=(0, 1, 3, 2, 4)), shape=(0, -3, -1))


@pytest.mark.parametrize("build, shuffles", [(_shufflenet_shuffle, 1), (_inner_swap, 0)])
def test_a_channel_shuffle_is_ncnns_shuffle_channel(tmp_path, build, shuffles):
    """On ncnn-native ncnn's ShuffleChannel moves the channels (no K×K permutation convolution); every target
    verifies; a swap inside a group of channels is no shuffle of them all and stays the permutation."""
    shapes = {"data": (2, 3, 5, 7)}
    symbol = build(mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=12, name="conv"))
    for target in target_names():
        compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                    target=target)
        types = layer_types(compiled)
        assert comparisons and types.count("ShuffleChannel") == (shuffles if target == "ncnn-native" else 0), target
        if target == "ncnn-native" and shuffles:
            assert types.count("Convolution") == 1, types   # the model's own only
