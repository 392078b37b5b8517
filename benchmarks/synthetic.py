"""Synthetic IR graphs of a chosen size, built without MXNet, on which every pass of the canonical order has work.

    NHWC image → Scale{axis 3} → Transpose(0,3,1,2)      reorder_input_layout (and, with the options, to_bgr and
                                                          input normalisation: reorder_input_channels,
                                                          fold_input_normalization)
    stem Convolution                                      (reads the image's channels through its weights)
    units, each:
      Convolution → BatchNorm                             fold_batchnorm
      clip(0, 6)                                          clip_to_relu
      ×2 → +1                                             fold_scalar_arithmetic
      Dropout; Transpose pair                             eliminate_identities, transpose_to_permute
      channel shuffle (Reshape 5-D, swap, Reshape)        lower_transpose
      ReLU on a 5-D view                                  lower_rank
      × broadcast_like(mean over H, W)                    absorb_broadcast_like
      x · clip(x + 3, 0, 6) / 6                           fuse_hard_activations
      a pixel shuffle on the dead branch                  lower_pixel_shuffle
      × Reshape(constant (C,)) → (1,C,1,1)                fold_constants, lower_broadcast_arithmetic
      + residual → BatchNorm                              lower_batchnorm (nothing to fold into)
      a dead branch                                       eliminate_dead_code
      dead branches: Pad → Convolution, Lp pooling,       fold_padding, lower_lp_pooling, lower_log_softmax,
      log_softmax, InstanceNorm, norm, L2Normalization    lower_instance_norm, lower_norm,
      (spatial), argmax, tile                             decompose_l2_normalization, lower_argmax, lower_repeats
    L2Normalization → Scale                               lower_l2_normalization
    one SSD level: class/box heads, anchors, box_decode,
    softmax, box_nms, top-k slice                         fuse_ssd_head
    boxes decoded by arithmetic, scores moved per class
    into box_nms rows                                     fuse_box_nms

Run it for target ncnn-native with OPTIONS: ncnn-native has the SSD layers, Normalize, ReLU6 and the hard activations,
and lacks 5-D blobs and Permutes, so every pass acts there.
"""
from __future__ import annotations

import numpy as np

from compiler.ir import Graph, TensorType
from compiler.ops import (Activation, ArgMax, BatchNorm, BoxDecode, BoxNMS, BroadcastLike, BroadcastMul, Clip,
                          Concat, Convolution, Dropout, ElemwiseAdd, Flatten, InstanceNorm, L2Normalization,
                          LogSoftmax, Norm, Pad, Pooling, ReduceMean, Reshape, ScalarOp, Scale, SliceAxis, Softmax,
                          Tile, Transpose)
from compiler.options import Options

UNIT_OPS = 39   # ops added per unit below
OPTIONS = Options(to_bgr=True, std=(58.0, 57.0, 57.5), input_scale=1.0)
TARGET = "ncnn-native"
IMAGE = 8


def _ssd_tail(g: Graph, feature, rng) -> None:
    """One SSD level on `feature`: one square anchor of side 2 per cell, 2 classes + background."""
    _, channels, h, w = feature.type.shape
    classes = 3
    heads = []
    for name, filters, k in (("cls", classes, classes), ("box", 4, 4)):
        weight = g.constant(rng.standard_normal((filters, channels, 3, 3)) * 0.1, f"ssd_{name}_weight")
        bias = g.constant(np.zeros(filters), f"ssd_{name}_bias")
        y = g.add(Convolution(num_filter=filters, kernel=3, pad=1), feature, weight, bias, name=f"ssd_{name}").result
        y = g.add(Transpose(axes=(0, 2, 3, 1)), y, name=f"ssd_{name}_nhwc").result
        y = g.add(Flatten(), y, name=f"ssd_{name}_flat").result
        y = g.add(Concat(dim=1), y, name=f"ssd_{name}_concat").result   # one level: a Concat of one
        heads.append(g.add(Reshape(shape=(1, h * w, k)), y, name=f"ssd_{name}_pred").result)
    scores = g.add(Softmax(axis=-1), heads[0], name="ssd_softmax").result
    step = IMAGE / h
    centres = [((col + 0.5) * step, (row + 0.5) * step) for row in range(h) for col in range(w)]
    anchors = g.constant(np.array([[cx, cy, 2.0, 2.0] for cx, cy in centres])[None], "ssd_anchors")
    boxes = g.add(BoxDecode(std0=0.1, std1=0.1, std2=0.2, std3=0.2), heads[1], anchors, name="ssd_decode").result
    best = g.add(SliceAxis(axis=2, begin=1, end=3), scores, name="ssd_scores").result
    rows = g.add(Concat(dim=2), best, boxes, name="ssd_rows").result
    kept = g.add(BoxNMS(overlap_thresh=0.45, valid_thresh=0.01, topk=50, coord_start=2, score_index=1, id_index=0),
                 rows, name="ssd_nms").result
    g.outputs = [g.add(SliceAxis(axis=1, begin=0, end=20), kept, name="ssd_top").result]


def _decoded_nms_tail(g: Graph, feature, rng) -> None:
    """Boxes decoded by arithmetic and sigmoid class scores moved per class into box_nms rows, as an exported
    YOLOv3 or a minimal-opset SSD has them: fuse_box_nms's pattern."""
    _, channels, h, w = feature.type.shape
    classes = 2
    heads = []
    for name, filters in (("cls", classes), ("box", 4)):
        weight = g.constant(rng.standard_normal((filters, channels, 1, 1)) * 0.1, f"nms_{name}_weight")
        y = g.add(Convolution(num_filter=filters, kernel=1), feature, weight, name=f"nms_{name}").result
        y = g.add(Transpose(axes=(0, 2, 3, 1)), y, name=f"nms_{name}_nhwc").result
        heads.append(g.add(Reshape(shape=(1, h * w, filters)), y, name=f"nms_{name}_rows").result)
    scores = g.add(Activation(act_type="sigmoid"), heads[0], name="nms_scores").result
    boxes = g.add(ScalarOp(op="mul", scalar=4.0), heads[1], name="nms_boxes").result
    pieces = []
    for c in range(classes):
        ids = g.constant(np.full((1, h * w, 1), float(c)), f"nms_ids{c}")
        score = g.add(SliceAxis(axis=2, begin=c, end=c + 1), scores, name=f"nms_score{c}").result
        pieces.append(g.add(Concat(dim=2), ids, score, boxes, name=f"nms_rows{c}").result)
    rows = g.add(Concat(dim=1), *pieces, name="nms_rows").result
    kept = g.add(BoxNMS(overlap_thresh=0.45, valid_thresh=0.01, topk=50, coord_start=2, score_index=1, id_index=0),
                 rows, name="nms_nms").result
    g.outputs = g.outputs + [g.add(SliceAxis(axis=1, begin=0, end=20), kept, name="nms_top").result]


def conv_bn_chain(target_ops: int, channels: int = 4, seed: int = 0) -> Graph:
    """About `target_ops` ops: the preprocessing and stem, units as described above, then the SSD tail."""
    rng = np.random.RandomState(seed)
    g = Graph(f"synthetic_{target_ops}")
    image = g.input("data", TensorType((1, IMAGE, IMAGE, 3)))
    x = g.add(Scale(axis=3), image, g.constant(np.full(3, 0.5), "mean_scale"), name="nhwc_scale").result
    x = g.add(Transpose(axes=(0, 3, 1, 2)), x, name="to_nchw").result
    stem = g.constant(rng.standard_normal((channels, 3, 3, 3)) * 0.5, "stem_weight")
    x = g.add(Convolution(num_filter=channels, kernel=3, pad=1), x, stem, name="stem").result

    def stats(prefix):
        return [g.constant(rng.uniform(0.5, 1.5, channels), prefix + n) for n in ("gamma", "beta", "mean", "var")]

    for unit in range(max(1, target_ops // UNIT_OPS)):
        p = f"u{unit}_"
        w = g.constant(rng.standard_normal((channels, channels, 1, 1)) * 0.5, p + "w")
        w3 = g.constant(rng.standard_normal((channels, channels, 3, 3)) * 0.5, p + "w3")
        y = g.add(Convolution(num_filter=channels, kernel=1), x, w, name=p + "conv").result
        y = g.add(BatchNorm(eps=1e-5, fix_gamma=False), y, *stats(p), name=p + "bn").result
        y = g.add(Clip(a_min=0.0, a_max=6.0), y, name=p + "relu6").result
        y = g.add(ScalarOp(op="mul", scalar=2.0), y, name=p + "mul").result
        y = g.add(ScalarOp(op="plus", scalar=1.0), y, name=p + "plus").result
        y = g.add(Dropout(p=0.1), y, name=p + "drop").result
        y = g.add(Transpose(axes=(0, 2, 3, 1)), y, name=p + "nhwc").result
        y = g.add(Transpose(axes=(0, 3, 1, 2)), y, name=p + "nchw").result
        y = g.add(Reshape(shape=(1, 2, channels // 2, IMAGE, IMAGE)), y, name=p + "groups").result
        y = g.add(Transpose(axes=(0, 2, 1, 3, 4)), y, name=p + "shuffle").result
        y = g.add(Reshape(shape=(1, channels, IMAGE, IMAGE)), y, name=p + "shuffled").result
        y = g.add(Reshape(shape=(1, 2, channels // 2, IMAGE, IMAGE)), y, name=p + "halves").result
        y = g.add(Activation(act_type="relu"), y, name=p + "halves_relu").result
        y = g.add(Reshape(shape=(1, channels, IMAGE, IMAGE)), y, name=p + "joined").result
        gate = g.constant(rng.uniform(0.5, 1.5, channels), p + "gate")
        gate = g.add(Reshape(shape=(1, channels, 1, 1)), gate, name=p + "gate_shape").result
        y = g.add(BroadcastMul(), y, gate, name=p + "gated").result
        pooled = g.add(ReduceMean(axis=(2, 3), keepdims=True), y, name=p + "pooled").result
        pooled = g.add(BroadcastLike(), pooled, y, name=p + "pooled_like").result
        y = g.add(BroadcastMul(), pooled, y, name=p + "pool_gated").result
        swish = g.add(ScalarOp(op="plus", scalar=3.0), y, name=p + "hswish_plus").result
        swish = g.add(Clip(a_min=0.0, a_max=6.0), swish, name=p + "hswish_relu6").result
        swish = g.add(ScalarOp(op="div", scalar=6.0), swish, name=p + "hswish_div").result
        y = g.add(BroadcastMul(), y, swish, name=p + "hswish").result
        y = g.add(ElemwiseAdd(), y, x, name=p + "add").result
        dead = g.add(Activation(act_type="sigmoid"), y, name=p + "unused").result
        dead = g.add(Reshape(shape=(1, channels // 4, 2, 2, IMAGE, IMAGE)), dead, name=p + "unused_split").result
        dead = g.add(Transpose(axes=(0, 1, 4, 2, 5, 3)), dead, name=p + "unused_shuffle").result
        g.add(Reshape(shape=(1, channels // 4, 2 * IMAGE, 2 * IMAGE)), dead, name=p + "unused_space")
        # Dead branches for the passes that lower the symbol API's ops (they act before dead code goes).
        padded = g.add(Pad(pad_width=(0, 0, 0, 0, 1, 1, 1, 1)), y, name=p + "unused_pad").result
        g.add(Convolution(num_filter=channels, kernel=3), padded, w3, name=p + "unused_padded_conv")
        g.add(Pooling(kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=2), y, name=p + "unused_lp")
        g.add(LogSoftmax(axis=1), y, name=p + "unused_log_softmax")
        g.add(InstanceNorm(eps=1e-3), y, *stats(p + "in_")[:2], name=p + "unused_instance_norm")
        g.add(Norm(axis=(1,)), y, name=p + "unused_norm")
        g.add(L2Normalization(mode="spatial"), y, name=p + "unused_l2_spatial")
        g.add(ArgMax(axis=1), y, name=p + "unused_argmax")
        g.add(Tile(reps=(1, 2, 1, 1)), y, name=p + "unused_tile")
        x = g.add(BatchNorm(eps=1e-5, fix_gamma=False), y, *stats(p + "post_"), name=p + "post_bn").result
    x = g.add(L2Normalization(mode="channel"), x, name="l2norm").result
    x = g.add(Scale(axis=1), x, g.constant(rng.uniform(5, 20, channels), "l2norm_scale"), name="l2norm_scale").result
    feature = g.add(Activation(act_type="relu"), x, name="feature").result
    _ssd_tail(g, feature, rng)
    _decoded_nms_tail(g, feature, rng)
    return g
