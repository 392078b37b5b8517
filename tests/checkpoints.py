"""Symbol-API checkpoints of our own making that use the symbol API's inference ops the way trained models do
(RetinaFace's FPN, MTCNN's O-Net, a hand-written-ReLU6 MobileFaceNet, an InsightFace embedding, an FCN-style
segmenter, a landmark regressor, an ESPCN super-resolver), saved as a user has them: PREFIX-symbol.json and
PREFIX-0000.params (arg:/aux: names) with seeded random weights.

    python -m tests.checkpoints DIR     # writes every checkpoint into DIR
"""
from __future__ import annotations

import os
import sys

import mxnet as mx
import numpy as np

sym = mx.sym


def _conv(x, name, filters, kernel=3, stride=1, pad=1, group=1, no_bias=False):
    return sym.Convolution(x, kernel=(kernel, kernel), stride=(stride, stride), pad=(pad, pad), num_filter=filters,
                           num_group=group, no_bias=no_bias, name=name)


def _bn(x, name, fix_gamma=False):
    return sym.BatchNorm(x, fix_gamma=fix_gamma, eps=2e-5, name=name)


def retinaface_fpn():
    """A RetinaFace-style detector body: strided stages, an FPN whose coarse levels are upsampled ×2 (nearest)
    and Cropped to the finer level before the add, SSH-like context, per-level heads: class scores reshaped to two
    channels for a channel softmax (SoftmaxActivation mode=channel) and back, boxes and landmarks."""
    data = sym.var("data")
    c1 = sym.relu(_bn(_conv(data, "stage1", 8, stride=2), "stage1_bn"))
    c2 = sym.relu(_bn(_conv(c1, "stage2", 16, stride=2), "stage2_bn"))
    c3 = sym.relu(_bn(_conv(c2, "stage3", 16, stride=2), "stage3_bn"))
    p3 = sym.LeakyReLU(_conv(c3, "lateral3", 8, kernel=1, pad=0), act_type="leaky", slope=0.1, name="lat3_act")
    p2 = sym.LeakyReLU(_conv(c2, "lateral2", 8, kernel=1, pad=0), act_type="leaky", slope=0.1, name="lat2_act")
    up3 = sym.UpSampling(p3, scale=2, sample_type="nearest", workspace=512, name="up3", num_args=1)
    p2 = p2 + sym.Crop(up3, p2, num_args=2, name="crop3")
    outputs = []
    for level, feature in (("p2", p2), ("p3", p3)):
        context = sym.concat(_conv(feature, f"{level}_ssh_a", 4), sym.relu(_conv(feature, f"{level}_ssh_b", 4)),
                             dim=1, name=f"{level}_ssh")
        score = _conv(context, f"{level}_cls", 4, kernel=1, pad=0)   # 2 anchors × (bg, face)
        score = sym.Reshape(score, shape=(0, 2, -1, 0), name=f"{level}_cls_reshape")
        score = sym.SoftmaxActivation(score, mode="channel", name=f"{level}_cls_prob")
        outputs.append(sym.Reshape(score, shape=(0, 4, -1, 0), name=f"{level}_cls_prob_reshape"))
        outputs.append(_conv(context, f"{level}_bbox", 8, kernel=1, pad=0))
        outputs.append(_conv(context, f"{level}_landmark", 20, kernel=1, pad=0))
    return sym.Group(outputs), (1, 3, 40, 48)


def mtcnn_onet():
    """An MTCNN-style O-Net: PReLU, 'full' (ceil) max pooling, FC heads, SoftmaxOutput with its label variable;
    and the L-Net's SliceChannel of a 15-channel patch stack into five branches."""
    data = sym.var("data")
    x = sym.LeakyReLU(_conv(data, "conv1", 8, pad=0), act_type="prelu", name="prelu1")
    x = sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool1")
    x = sym.LeakyReLU(_conv(x, "conv2", 16, pad=0), act_type="prelu", name="prelu2")
    x = sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool2")
    x = sym.LeakyReLU(sym.FullyConnected(x, num_hidden=32, name="fc1"), act_type="prelu", name="prelu3")
    prob = sym.SoftmaxOutput(sym.FullyConnected(x, num_hidden=2, name="fc_cls"), sym.var("prob_label"), name="prob")
    box = sym.FullyConnected(x, num_hidden=4, name="fc_box")
    patches = sym.SliceChannel(sym.var("patches"), num_outputs=5, name="slice")
    branches = [sym.FullyConnected(sym.Pooling(sym.relu(_conv(patches[i], f"branch{i}", 4)), kernel=(2, 2),
                                               stride=(2, 2), pool_type="max", name=f"branch{i}_pool"),
                                   num_hidden=2, name=f"branch{i}_fc") for i in range(5)]
    return sym.Group([prob, box, *branches]), {"data": (2, 3, 24, 24), "patches": (2, 15, 12, 12)}


def mobileface_relu6():
    """A MobileFaceNet-style embedder: depthwise separable blocks with BatchNorm (fix_gamma) and a ReLU6 written by
    hand as _maximum_scalar(0) then _minimum_scalar(6), a residual, global depthwise pooling, L2Normalization."""
    data = sym.var("data")

    def relu6(x):
        return sym.minimum(sym.maximum(x, 0.0), 6.0)
    x = relu6(_bn(_conv(data, "conv1", 8, stride=2, no_bias=True), "conv1_bn", fix_gamma=True) * 3.0)
    for i in range(2):
        y = relu6(_bn(_conv(x, f"dw{i}", 8, group=8, no_bias=True), f"dw{i}_bn") * 3.0)
        y = _bn(_conv(y, f"pw{i}", 8, kernel=1, pad=0, no_bias=True), f"pw{i}_bn")
        x = x + y
    x = _conv(x, "gdc", 8, kernel=6, pad=0, group=8, no_bias=True)
    x = sym.FullyConnected(sym.Flatten(x), num_hidden=16, name="fc1")
    return sym.L2Normalization(x, mode="instance", name="embedding"), (1, 1, 12, 12)


def insightface_embedding():
    """InsightFace's recipe: (x − 127.5)·0.0078125 in the graph, conv/BN/PReLU, Dropout, fc1, BatchNorm on fc1
    (fix_gamma), and the embedding divided by its own norm."""
    data = sym.var("data")
    x = (data - 127.5) * 0.0078125
    x = sym.LeakyReLU(_bn(_conv(x, "conv0", 8, no_bias=True), "bn0"), act_type="prelu", name="relu0")
    x = sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="avg", name="pool0")
    x = sym.Dropout(_bn(x, "bn1"), p=0.4, name="dropout")
    fc1 = _bn(sym.FullyConnected(x, num_hidden=16, name="pre_fc1"), "fc1", fix_gamma=True)
    return sym.broadcast_div(fc1, sym.norm(fc1, axis=1, keepdims=True), name="embedding"), (2, 3, 16, 16)


def fcn_segmenter():
    """An FCN-style segmenter: LRN after the first convolution (AlexNet's), a TensorFlow-style −inf Pad before a
    stride-2 max pooling, InstanceNorm, a Deconvolution to a target_shape and one with adj, a centred Crop, class
    log-probabilities and their argmax."""
    data = sym.var("data")
    x = sym.LRN(sym.relu(_conv(data, "conv1", 8)), nsize=5, alpha=1e-3, beta=0.75, knorm=2.0, name="norm1")
    x = sym.pad(x, mode="constant", constant_value=-np.inf, pad_width=(0, 0, 0, 0, 0, 1, 0, 1), name="pad1")
    x = sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", name="pool1")
    x = sym.InstanceNorm(_conv(x, "conv2", 8), sym.var("in_gamma"), sym.var("in_beta"), eps=1e-3, name="in2")
    x = sym.relu(x)
    up = sym.Deconvolution(x, kernel=(4, 4), stride=(2, 2), pad=(1, 1), adj=(1, 1), num_filter=6, no_bias=True,
                           name="up_adj")
    up = sym.Crop(up, num_args=1, h_w=(16, 20), center_crop=True, name="crop")
    scores = _conv(up, "score", 5, kernel=1, pad=0)
    return sym.Group([sym.log_softmax(scores, axis=1, name="logp"), sym.argmax(scores, axis=1, name="label")]), \
        (1, 3, 18, 22)


def landmark_regressor():
    """A landmark regressor trained with LinearRegressionOutput (its label variable left in the graph), with a
    hard-sigmoid gate, a tiled attention map, and a few element-wise maths."""
    data = sym.var("data")
    x = sym.relu(_conv(data, "conv1", 8, stride=2))
    gate = sym.hard_sigmoid(_conv(x, "gate", 1, kernel=1, pad=0), alpha=0.2, beta=0.5, name="gate_sigmoid")
    x = sym.broadcast_mul(x, sym.tile(gate, reps=(1, 8, 1, 1)), name="gated")
    x = sym.sqrt(sym.square(x) + 1.0) + sym.abs(_conv(x, "detail", 8, kernel=1, pad=0))
    x = sym.max(x, axis=(2, 3), keepdims=True) + sym.mean(x, axis=(2, 3), keepdims=True)
    points = sym.FullyConnected(sym.Flatten(x), num_hidden=10, name="points")
    return sym.LinearRegressionOutput(points, sym.var("points_label"), name="regression"), (2, 3, 16, 16)


def espcn_super_resolution():
    """An ESPCN-style super-resolver: features, then depth_to_space(3); and space_to_depth as its training front."""
    data = sym.var("data")
    x = sym.space_to_depth(data, block_size=2, name="to_depth")
    x = sym.tanh(_conv(x, "feat", 8))
    x = _conv(x, "subpixel", 3 * 9)
    return sym.depth_to_space(x, block_size=3, name="shuffle"), (1, 3, 12, 16)


CHECKPOINTS = {f.__name__: f for f in (retinaface_fpn, mtcnn_onet, mobileface_relu6, insightface_embedding,
                                       fcn_segmenter, landmark_regressor, espcn_super_resolution)}


def input_shapes(shape) -> dict:
    return shape if isinstance(shape, dict) else {"data": shape}


def write(name: str, directory: str, seed: int = 0) -> tuple[str, str, dict]:
    """Write checkpoint `name` into `directory`; returns (symbol path, params path, input shapes)."""
    symbol, shape = CHECKPOINTS[name]()
    shapes = input_shapes(shape)
    rng = np.random.RandomState(seed)
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    arrays = {}
    for kind, names, found in (("arg", symbol.list_arguments(), arg_shapes),
                               ("aux", symbol.list_auxiliary_states(), aux_shapes)):
        for param, param_shape in zip(names, found):
            if param in shapes or param.endswith("label"):
                continue
            if param.endswith(("var", "gamma")):
                value = rng.uniform(0.5, 1.5, param_shape)
            elif param.endswith("alpha"):
                value = rng.uniform(0.05, 0.3, param_shape)
            else:
                value = rng.standard_normal(param_shape) * np.sqrt(2.0 / max(1, int(np.prod(param_shape[1:]))))
            arrays[f"{kind}:{param}"] = mx.nd.array(value.astype(np.float32))
    prefix = os.path.join(directory, name)
    symbol.save(prefix + "-symbol.json")
    mx.nd.save(prefix + "-0000.params", arrays)
    return prefix + "-symbol.json", prefix + "-0000.params", shapes


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    for checkpoint in CHECKPOINTS:
        print(*write(checkpoint, sys.argv[1])[:2])
