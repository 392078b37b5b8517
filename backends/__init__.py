"""Backends: one target per Caffe dialect, all emitting through one shared writer.

| target | consumer | policy |
| --- | --- | --- |
| caffe | BVLC Caffe 1.0 (tag 1.0): no round_mode, Clip, Swish or SSD layers | in place where exact |
| caffe-ssd | weiliu89/caffe, branch ssd: BVLC 1.0 plus Permute, PriorBox, DetectionOutput, Normalize | as caffe; PriorBox truncates fractional sizes |
| ncnn | ncnn's caffe2ncnn: the caffe-ssd layers, a native ReLU6 and Yolov3DetectionOutput | no in-place layers (caffe2ncnn renames their tops), padded average pooling excludes the padding, 4-D batch-first Permutes only, InnerProduct/Scale axis ignored, ≤ 4-D blobs, DetectionOutput decodes CENTER_SIZE only, every Scale needs a caffemodel entry, global pooling flattens (docs/caffe.md#ncnn) |
| ncnn-native | the ncnn runtime itself: ncnn's .param/.bin, translated from the ncnn dialect's layers and ncnn's own (MatMul, DeformableConv2D, Interp, Clip, HardSigmoid, HardSwish, ShuffleChannel) | as ncnn |
| rknn | Rockchip's rknn-toolkit2 2.5.0 (load_caffe): BVLC Caffe 1.0 without ELU, Exp and Silence, which it drops, plus caffe-ssd's Permute | Permute for three 4-D batch-first orders, Scale blobs one value per channel (InnerProduct/Scale axes avoided), ≤ 4-D blobs, strided 1×1 pooling as a depthwise convolution, an output that layers also read copied to a blob of its own (docs/rknn.md) |
"""
from __future__ import annotations

from backends import schema
from backends.target import NCNN_FILES, Target, TargetPolicy
from compiler.ops.detection import BoxCode
from compiler.policy import BATCH_FIRST_ORDERS

# The Permute orders rknn-toolkit2 takes: it reads caffe-ssd's Permute (field 202) and computes every 4-D batch-first
# order, but its graph optimizer (rule reduce_reshape_op_around_concat) raises IndexError in `build` on YOLOv3's
# Permute(0, 2, 1, 3) → Reshape → Concat; that order stays Slices and Concats (docs/rknn.md#permute).
RKNN_PERMUTE_ORDERS = frozenset({(0, 2, 3, 1), (0, 3, 1, 2), (0, 1, 3, 2)})

# What ncnn does with the layers it shares with Caffe, for caffe2ncnn's input and for our own ncnn files alike
NCNN_POLICY = TargetPolicy(inplace=False, average_pool_counts_padding=False, permute_orders=BATCH_FIRST_ORDERS,
                           axis_params=False, reshape_batch=False, max_rank=4, detection_codes=(BoxCode.CENTER_SIZE,),
                           weightless_entries=frozenset({"Scale"}), global_pooling_flattens=True, samples_apart=True)

TARGETS: dict[str, Target] = {t.name: t for t in (
    Target(name="caffe", proto=schema.dialect(schema.CAFFE), description="BVLC Caffe 1.0 (tag 1.0)"),
    Target(name="caffe-ssd", proto=schema.dialect(schema.SSD), description="weiliu89/caffe, branch ssd",
           policy=TargetPolicy(prior_box_truncates_sizes=True)),
    Target(name="ncnn", proto=schema.dialect(schema.NCNN), description="ncnn's caffe2ncnn",
           policy=NCNN_POLICY),
    Target(name="ncnn-native", proto=schema.dialect(schema.NCNN_NATIVE), description="the ncnn runtime's .param/.bin",
           policy=NCNN_POLICY, files=NCNN_FILES),
    Target(name="rknn", proto=schema.dialect(schema.RKNN), description="Rockchip rknn-toolkit2 2.5.0's Caffe parser",
           policy=TargetPolicy(axis_params=False, max_rank=4, unit_window_pooling=False,
                               outputs_unconsumed=True, permute_orders=RKNN_PERMUTE_ORDERS)),
)}


def get_target(name: str) -> Target:
    from compiler.errors import ConversionError

    if name not in TARGETS:
        raise ConversionError(f"unknown target {name!r}", hint=f"choose one of {', '.join(sorted(TARGETS))}")
    return TARGETS[name]


def target_names() -> list[str]:
    return sorted(TARGETS)


__all__ = ["TARGETS", "Target", "TargetPolicy", "get_target", "target_names"]
