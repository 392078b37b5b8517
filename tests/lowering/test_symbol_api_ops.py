"""The symbol API's inference ops that trained models use (issue: models as users have them), each converted for every
target and run in OpenCV and pycaffe against MXNet on the same input — or refused with the reason."""
import json

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from backends import target_names
from compiler.errors import ConversionError, IllegalForTarget, UnsupportedOp
from compiler.frontend.symbol import import_symbol
from tests.helpers import computes_samples_apart, convert_and_compare, layer_types, random_params

TARGETS = tuple(target_names())   # every target
SHAPES = {"data": (2, 3, 6, 7)}


def _conv(x, name="conv", filters=4, kernel=3, pad=1):
    return mx.sym.Convolution(x, kernel=(kernel, kernel), pad=(pad, pad), num_filter=filters, name=name)


def _every_target(symbol, tmp_path, shapes=SHAPES, params=None, targets=TARGETS, **kwargs):
    params = params if params is not None else random_params(symbol, shapes)
    return {target: convert_and_compare(symbol, params, shapes, tmp_path, target=target, **kwargs)[0]
            for target in targets}


# -- splitting and cropping -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(num_outputs=2, axis=1), dict(num_outputs=3, axis=2),
                                    dict(num_outputs=4, axis=1, squeeze_axis=True), dict(num_outputs=7, axis=-1)])
def test_slice_channel(tmp_path, kwargs):
    """MTCNN's L-Net splits its 15-channel input into five; each part feeds its own branch."""
    x = _conv(mx.sym.var("data"), filters=4 if kwargs["axis"] == 1 else 4)
    parts = mx.sym.SliceChannel(x, name="split", **kwargs)
    symbol = mx.sym.Group([mx.sym.relu(parts[i], name=f"branch{i}") for i in range(kwargs["num_outputs"])])
    compiled = _every_target(symbol, tmp_path)
    assert layer_types(compiled["caffe"]).count("Slice") == 1


@pytest.mark.parametrize("kwargs", [dict(indices_or_sections=(1, 3), axis=2), dict(indices_or_sections=2, axis=1),
                                    dict(indices_or_sections=(2,), axis=3, squeeze_axis=False)])
def test_split_v2(tmp_path, kwargs):
    x = _conv(mx.sym.var("data"))
    parts = mx.sym.split_v2(x, **kwargs)
    symbol = mx.sym.Group([mx.sym.sigmoid(parts[i]) for i in range(len(parts.list_outputs()))])
    _every_target(symbol, tmp_path)


def test_split_parts_as_graph_outputs(tmp_path):
    """Every part of a split is an output: runtimes return a layer's first top, so the later parts are copied out."""
    symbol = mx.sym.SliceChannel(_conv(mx.sym.var("data"), filters=6), num_outputs=3, name="split")
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("kwargs", [dict(offset=(1, 2), h_w=(3, 4)), dict(h_w=(4, 3), center_crop=True),
                                    dict(h_w=(6, 7))])
def test_crop_to_a_size(tmp_path, kwargs):
    symbol = mx.sym.Crop(_conv(mx.sym.var("data")), num_args=1, name="crop", **kwargs)
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("center_crop", [False, True])
def test_crop_like_after_upsampling(tmp_path, center_crop):
    """RetinaFace-style FPN: the coarse level is upsampled ×2 and cropped to the finer level it is added to."""
    data = mx.sym.var("data")
    fine = _conv(data, "fine")
    coarse = mx.sym.Convolution(fine, kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4, name="coarse")
    up = mx.sym.UpSampling(coarse, scale=2, sample_type="nearest", num_args=1, name="up")
    cropped = mx.sym.Crop(up, fine, num_args=2, center_crop=center_crop, name="crop")
    symbol = mx.sym.elemwise_add(cropped, fine, name="merged")
    _every_target(symbol, tmp_path, shapes={"data": (1, 3, 7, 9)})


# -- maximum and minimum --------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_and_minimum_of_two_tensors(tmp_path, op):
    data = mx.sym.var("data")
    symbol = getattr(mx.sym, op)(_conv(data, "a"), _conv(data, "b"))   # MXNet's _maximum / _minimum
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("op", ["broadcast_maximum", "broadcast_minimum"])
def test_broadcast_maximum_against_a_per_channel_constant(tmp_path, op):
    data = mx.sym.var("data")
    symbol = getattr(mx.sym, op)(_conv(data), mx.sym.var("floor", shape=(1, 4, 1, 1)), name="extreme")
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("op, scalar", [("maximum", 0.3), ("minimum", -0.2), ("maximum", 0.0)])
def test_scalar_bounds_are_clips(tmp_path, op, scalar):
    symbol = getattr(mx.sym, op)(_conv(mx.sym.var("data")), scalar)   # MXNet's _maximum_scalar / _minimum_scalar
    compiled = _every_target(symbol, tmp_path)
    assert "ReLU" in layer_types(compiled["caffe"])


def test_hand_written_relu6_becomes_one_clip(tmp_path):
    """MobileFace's ReLU6: _maximum_scalar(0) then _minimum_scalar(6) — one ReLU6 on ncnn, the exact ReLU/Power
    chain elsewhere."""
    x = _conv(mx.sym.var("data")) * 4.0
    symbol = mx.sym.minimum(mx.sym.maximum(x, 0.0), 6.0)
    compiled = _every_target(symbol, tmp_path)
    assert layer_types(compiled["ncnn"])[-1] == "ReLU6"
    assert layer_types(compiled["caffe"])[-4:] == ["ReLU", "Power", "ReLU", "Power"]


# -- padding into pooling and convolution ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [-np.inf, -3.4028234663852886e38])
@pytest.mark.parametrize("pads, pool_pad", [((1, 1, 1, 1), 0), ((1, 0, 1, 0), 0), ((0, 1, 0, 1), 0),
                                            ((0, 1, 0, 1), 1), ((2, 2, 0, 0), 0), ((1, 2, 1, 2), 0)])
def test_a_pad_of_minus_infinity_is_a_max_pooling_pad(tmp_path, value, pads, pool_pad):
    x = mx.sym.relu(_conv(mx.sym.var("data"))) - 5.0   # negative: a zero from the padding would win
    padded = mx.sym.pad(x, mode="constant", constant_value=value, pad_width=(0, 0, 0, 0, *pads), name="pad")
    symbol = mx.sym.Pooling(padded, kernel=(3, 3), stride=(2, 2), pad=(pool_pad, pool_pad), pool_type="max",
                            name="pool")
    compiled = _every_target(symbol, tmp_path, shapes={"data": (1, 3, 8, 9)})
    assert "Convolution" == layer_types(compiled["caffe"])[1] and layer_types(compiled["caffe"]).count("Pooling") == 1


def test_a_pad_of_minus_infinity_before_anything_but_a_max_pooling_is_refused(tmp_path):
    x = _conv(mx.sym.var("data"))
    padded = mx.sym.pad(x, mode="constant", constant_value=-np.inf, pad_width=(0, 0, 0, 0, 0, 1, 0, 1), name="pad")
    symbol = mx.sym.Pooling(padded, kernel=(3, 3), stride=(2, 2), pool_type="avg", name="pool")
    with pytest.raises(IllegalForTarget, match="pad.*no exact form"):
        convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


@pytest.mark.parametrize("pads, stride", [((1, 1, 1, 1), 1), ((0, 1, 0, 1), 2), ((1, 0, 2, 1), 1)])
def test_zero_padding_folds_into_the_convolution(tmp_path, pads, stride):
    """TensorFlow-style SAME padding ported to MXNet: an explicit Pad before a stride-2 convolution."""
    padded = mx.sym.pad(mx.sym.var("data"), mode="constant", pad_width=(0, 0, 0, 0, *pads), name="pad")
    symbol = mx.sym.Convolution(padded, kernel=(3, 3), stride=(stride, stride), num_filter=4, name="conv")
    compiled = _every_target(symbol, tmp_path, shapes={"data": (1, 3, 8, 8)})
    before, after = pads[0::2], pads[1::2]
    folds = all(b >= a or (a - b) % stride == 0 for b, a in zip(before, after))
    assert layer_types(compiled["caffe"]).count("Convolution") == (1 if folds else 2)


# -- repeats ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reps", [(1, 2, 1, 1), (1, 1, 2, 3), (2, 1, 1, 1), (3, 1), (1, 1, 1, 1, 2)])
def test_tile(tmp_path, reps):
    symbol = mx.sym.tile(_conv(mx.sym.var("data")), reps=reps, name="tiled")
    targets = TARGETS if len(reps) <= 4 else ("caffe", "caffe-ssd")   # ncnn holds 4 dims
    if len(reps) >= 4 and reps[-4] != 1:   # the batch repeated: a Concat along it, which ncnn has not
        for target in filter(computes_samples_apart, targets):
            with pytest.raises(IllegalForTarget, match="tiled .*batch axis"):
                convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path, target=target)
        targets = [t for t in targets if not computes_samples_apart(t)]
    _every_target(symbol, tmp_path, targets=targets)


def test_broadcast_to_and_broadcast_axis(tmp_path):
    data = mx.sym.var("data")
    pooled = mx.sym.mean(_conv(data), axis=(1, 3), keepdims=True)   # two runs of axes, reduced one after another
    symbol = mx.sym.Group([mx.sym.broadcast_to(pooled, shape=(0, 5, 0, 7), name="to"),
                           mx.sym.broadcast_axis(pooled, axis=(1, 3), size=(2, 7), name="axis")])
    _every_target(symbol, tmp_path)


# -- normalisations ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(nsize=5), dict(nsize=3, alpha=0.01, beta=0.5, knorm=1.0),
                                    dict(nsize=1, knorm=3.0)])
def test_lrn(tmp_path, kwargs):
    """OpenCV and ncnn ignore LRN's k: it is taken out as a Power (exact)."""
    symbol = mx.sym.LRN(_conv(mx.sym.var("data"), filters=6) * 3.0, name="lrn", **kwargs)
    _every_target(symbol, tmp_path)


def test_lrn_with_an_even_window_is_refused(tmp_path):
    symbol = mx.sym.LRN(_conv(mx.sym.var("data")), nsize=4, name="lrn")
    with pytest.raises(IllegalForTarget, match="nsize 4"):
        convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


@pytest.mark.parametrize("eps", [1e-3, 1e-5])
def test_instance_norm(tmp_path, eps):
    data = mx.sym.var("data")
    symbol = mx.sym.InstanceNorm(_conv(data) * 3.0 + 1.0, mx.sym.var("in_gamma"), mx.sym.var("in_beta"), eps=eps,
                                 name="in")
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("mode", ["instance", "channel", "spatial"])
def test_l2_normalization_on_every_target(tmp_path, mode):
    """BVLC Caffe has no Normalize: the sum of squares, (s + eps)^−½ and a product compute it there (and spatial
    mode everywhere)."""
    symbol = mx.sym.L2Normalization(_conv(mx.sym.var("data")), mode=mode, eps=1e-6, name="l2")
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("kwargs", [dict(ord=2, axis=1), dict(ord=1, axis=(2, 3), keepdims=True), dict(ord=2),
                                    dict(ord=2, axis=1, keepdims=True)])
def test_norm(tmp_path, kwargs):
    symbol = mx.sym.norm(_conv(mx.sym.var("data")), name="norm", **kwargs)
    targets = TARGETS if kwargs.get("axis") is not None else ()
    if not targets:   # all axes, the batch included: no Caffe layer reduces over the batch
        with pytest.raises(IllegalForTarget, match="batch axis"):
            convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
        return
    _every_target(symbol, tmp_path, targets=targets)


def test_insightface_embedding_divided_by_its_norm(tmp_path):
    """InsightFace's fc1 embedding normalised by hand: fc1 / norm(fc1, axis 1, keepdims)."""
    fc1 = mx.sym.FullyConnected(mx.sym.Flatten(_conv(mx.sym.var("data"))), num_hidden=16, name="fc1")
    symbol = mx.sym.broadcast_div(fc1, mx.sym.norm(fc1, axis=1, keepdims=True), name="embedding")
    _every_target(symbol, tmp_path)


# -- arg-extremes and reductions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("axis, keepdims", [(1, False), (1, True), (3, False), (-1, False)])
def test_argmax_and_argmin(tmp_path, op, axis, keepdims):
    """Segmentation heads end in argmax over the classes. After a ReLU many pixels tie at 0 over every channel:
    MXNet returns the first index, and so must the conversion."""
    x = mx.sym.relu(_conv(mx.sym.var("data"), filters=5)) if op == "argmax" else \
        -mx.sym.relu(_conv(mx.sym.var("data"), filters=5))
    symbol = getattr(mx.sym, op)(x, axis=axis, keepdims=keepdims, name="index")
    params = random_params(symbol, SHAPES)
    params["conv_bias"] = params["conv_bias"] - 1.0   # plenty of ties
    _every_target(symbol, tmp_path, params=params)


def test_argmax_channel(tmp_path):
    symbol = mx.sym.argmax_channel(mx.sym.Flatten(_conv(mx.sym.var("data"))), name="index")
    _every_target(symbol, tmp_path)   # in ncnn too: its (N,) index is one value per sample


@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("kwargs", [dict(axis=1), dict(axis=(2, 3), keepdims=True), dict(axis=1, exclude=True)])
def test_reductions(tmp_path, op, kwargs):
    symbol = getattr(mx.sym, op)(_conv(mx.sym.var("data"), filters=20), name="reduced", **kwargs)
    if kwargs.get("exclude"):   # every axis but 1: the batch included
        with pytest.raises(IllegalForTarget, match="batch axis"):
            convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
        return
    _every_target(symbol, tmp_path)


# -- element-wise math ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["abs", "sqrt", "rsqrt", "square", "reciprocal", "log", "negative", "exp"])
def test_unary_math(tmp_path, op):
    x = _conv(mx.sym.var("data"))
    if op in ("sqrt", "rsqrt", "log", "reciprocal"):
        x = mx.sym.relu(x) + 0.5   # the domain where both sides are finite
    symbol = getattr(mx.sym, op)(x, name="math")
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("base", [2.0, 0.5, np.e])
def test_scalar_to_the_power_of_data(tmp_path, base):
    symbol = base ** mx.sym.tanh(_conv(mx.sym.var("data")))
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("kwargs", [dict(), dict(alpha=1 / 6, beta=0.5)])
def test_hard_sigmoid(tmp_path, kwargs):
    symbol = mx.sym.hard_sigmoid(_conv(mx.sym.var("data")) * 4.0, name="hsig", **kwargs)
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("axis", [1, -1])
def test_log_softmax(tmp_path, axis):
    symbol = mx.sym.log_softmax(_conv(mx.sym.var("data"), filters=6) * 5.0, axis=axis, name="logp")
    _every_target(symbol, tmp_path)


# -- layout ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["depth_to_space", "space_to_depth"])
def test_depth_to_space_and_back(tmp_path, op):
    filters = 8 if op == "depth_to_space" else 3
    symbol = getattr(mx.sym, op)(_conv(mx.sym.var("data"), filters=filters), block_size=2, name="moved")
    compiled = _every_target(symbol, tmp_path, shapes={"data": (1, 3, 4, 6)})
    assert {"Convolution", "Deconvolution"} & set(layer_types(compiled["caffe"])[2:])


# -- casts, training heads, custom ops --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["Cast", "amp_cast"])
def test_a_cast_to_float32_is_the_identity(tmp_path, op):
    symbol = mx.sym.relu(getattr(mx.sym, op)(_conv(mx.sym.var("data")), dtype="float32"), name="relu")
    compiled = _every_target(symbol, tmp_path)
    assert layer_types(compiled["caffe"]) == ["Input", "Convolution", "ReLU"]


def test_a_cast_to_float16_is_refused():
    symbol = mx.sym.Cast(_conv(mx.sym.var("data")), dtype="float16", name="half")
    with pytest.raises(UnsupportedOp, match="half.*dtype.*float16"):
        import_symbol(symbol, random_params(symbol, SHAPES), SHAPES)


@pytest.mark.parametrize("head, act", [("LinearRegressionOutput", None), ("MAERegressionOutput", None),
                                       ("LogisticRegressionOutput", "Sigmoid"), ("MakeLoss", None)])
def test_training_heads_compute_their_inference_output(tmp_path, head, act):
    """A regression head left in an exported graph: its label variable is no input, and its output is the data
    (or its sigmoid)."""
    fc = mx.sym.FullyConnected(mx.sym.Flatten(_conv(mx.sym.var("data"))), num_hidden=5, name="fc")
    label = [mx.sym.var("reg_label")] if head != "MakeLoss" else []
    symbol = getattr(mx.sym, head)(fc, *label, name="reg")
    compiled = _every_target(symbol, tmp_path)
    assert [v.name for v in compiled["caffe"].graph.inputs] == ["data"]
    assert layer_types(compiled["caffe"])[-1] == (act or "InnerProduct")


def test_a_custom_op_is_refused_naming_its_type():
    from compiler.frontend.symbol import load_symbol_json

    document = json.loads(mx.sym.relu(mx.sym.var("data"), name="r").tojson())
    document["nodes"][1].update(op="Custom", attrs={"op_type": "proposal_target"})
    with pytest.raises(UnsupportedOp, match="node 'r', op Custom, attribute 'op_type': custom operator "
                                            "'proposal_target'"):
        load_symbol_json(json.dumps(document))


# -- deconvolution output sizes ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1)),
                                    dict(kernel=(4, 4), stride=(2, 2), pad=(2, 1), adj=(1, 0))])
def test_deconvolution_output_padding(tmp_path, kwargs):
    symbol = mx.sym.Deconvolution(_conv(mx.sym.var("data")), num_filter=3, no_bias=False, name="up", **kwargs)
    _every_target(symbol, tmp_path)


@pytest.mark.parametrize("target_shape", [(12, 14), (11, 13), (13, 15)])
def test_deconvolution_target_shape(tmp_path, target_shape):
    """MXNet's oneDNN kernel cannot run a target_shape itself ("could not create a descriptor for a dilated
    deconvolution"): the reference runs in a process with MXNET_MKLDNN_ENABLED=0, MXNet's own kernels."""
    from compiler.driver.api import compile_graph
    from compiler.options import Options
    from tests.helpers import mxnet_outputs_in_a_new_process, run_runtime, runtimes_for

    symbol = mx.sym.Deconvolution(_conv(mx.sym.var("data")), kernel=(3, 3), stride=(2, 2), num_filter=3,
                                  target_shape=target_shape, no_bias=False, name="up")
    params = random_params(symbol, SHAPES)
    image = np.random.RandomState(1).standard_normal(SHAPES["data"]).astype(np.float32)
    reference = mxnet_outputs_in_a_new_process(symbol, params, {"data": image}, {"MXNET_MKLDNN_ENABLED": "0"})[0]
    assert reference.shape[2:] == target_shape
    for target in TARGETS:
        compiled = compile_graph(import_symbol(symbol, params, SHAPES), target, Options())
        prototxt, caffemodel = compiled.save(str(tmp_path / target))
        for runtime in runtimes_for(target):
            got = run_runtime(runtime, prototxt, caffemodel, {"data": image}, compiled.output_layers)[0]
            assert np.abs(got - reference).max() <= 1e-4 * np.abs(reference).max(), (target, runtime)


def test_pooling_same_is_refused():
    symbol = mx.sym.Pooling(mx.sym.var("data"), kernel=(3, 3), stride=(2, 2), pooling_convention="same",
                            pool_type="max", name="pool")
    with pytest.raises(ConversionError, match="same"):
        import_symbol(symbol, {}, SHAPES)
