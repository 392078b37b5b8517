"""Emitters for compiler/ops/detection.py: PriorBox, DetectionOutput (caffe-ssd layers) and ncnn's
Yolov3DetectionOutput."""
from __future__ import annotations

from backends.emitters import EmitContext, emitter
from compiler.ops import DetectionOutput, PriorBox, Yolov3DetectionOutput


@emitter(PriorBox, layers=("PriorBox",))
def emit_prior_box(op, ctx: EmitContext) -> None:
    a: PriorBox = op.attrs
    # Every field explicit: OpenCV defaults clip to true and refuses a missing variance (docs/caffe.md#priorbox).
    param = {"min_size": list(a.min_size), "max_size": list(a.max_size), "aspect_ratio": list(a.aspect_ratio),
             "flip": False, "clip": a.clip, "variance": list(a.variance), "offset": a.offset}
    if a.step_h == a.step_w:
        param["step"] = a.step_w
    else:
        param.update(step_h=a.step_h, step_w=a.step_w)
    if a.img_h:
        param.update(img_h=a.img_h, img_w=a.img_w)
    feature, image = op.operands
    ctx.add("PriorBox", name=op.name, bottoms=[ctx.bottom(feature), ctx.bottom(image)], tops=[ctx.top(op.result)],
            params={"prior_box_param": param}, source=op.result)


def _detection_output_legality(op, target) -> str | None:
    code = op.attrs.code_type
    if code not in target.policy.detection_codes:
        return (f"this consumer's DetectionOutput decodes only {', '.join(target.policy.detection_codes)}, "
                f"not {code}")
    return None


@emitter(DetectionOutput, layers=("DetectionOutput",), legal=_detection_output_legality)
def emit_detection_output(op, ctx: EmitContext) -> None:
    a: DetectionOutput = op.attrs
    param = {"num_classes": a.num_classes, "share_location": a.share_location,
             "background_label_id": a.background_label_id,
             "nms_param": {"nms_threshold": a.nms_threshold, "top_k": a.top_k}, "code_type": a.code_type,
             "keep_top_k": a.keep_top_k, "variance_encoded_in_target": False,
             "confidence_threshold": a.confidence_threshold}
    ctx.add("DetectionOutput", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"detection_output_param": param}, source=op.result)


@emitter(Yolov3DetectionOutput, layers=("Yolov3DetectionOutput",))
def emit_yolov3_detection_output(op, ctx: EmitContext) -> None:
    a: Yolov3DetectionOutput = op.attrs
    param = {"num_classes": a.num_classes, "num_box": a.num_box, "confidence_threshold": a.confidence_threshold,
             "nms_threshold": a.nms_threshold, "biases": list(a.biases), "anchors_scale": list(a.anchors_scale),
             "mask_group_num": a.mask_group_num, "mask": list(a.mask)}
    ctx.add("Yolov3DetectionOutput", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands],
            tops=[ctx.top(op.result)], params={"yolov3_detection_output_param": param}, source=op.result)
