"""Importing a YOLOv3 for one target: its heads block (heads.py), the detection layer that ends it there, what the
application must still do, and how its files are verified (verify.py)."""
from __future__ import annotations

import numpy as np

from compiler.driver.families.yolo3 import Ending
from compiler.driver.families.yolo3.heads import NATIVE_DIFFERENCES, heads_class
from compiler.driver.sources import BlockSource


class YoloSource(BlockSource):
    def __init__(self, net, input_shape, ending: Ending):
        super().__init__(heads_class()(net, input_shape, ending))
        self.net, self.ending = net, ending

    @property
    def levels(self) -> list[tuple[int, int, int]]:
        return self.block.levels

    def detection_output(self):
        """The DetectionOutput that finishes this model as GluonCV's box_nms does: per class, IoU > nms_thresh
        suppressed, scores > 0.01, top_k = nms_topk, keep_top_k = post_nms."""
        from compiler.ops import DetectionOutput

        net = self.net
        count = sum(h * w * a for h, w, a in self.levels)
        return DetectionOutput(num_classes=len(net.classes) + 1, nms_threshold=float(np.float32(net.nms_thresh)),
                               top_k=int(net.nms_topk) if net.nms_topk > 0 else count,
                               keep_top_k=int(net.post_nms) if net.post_nms > 0 else count * len(net.classes),
                               confidence_threshold=0.01, code_type=self.ending.code)

    def native_detection_output(self):
        """ncnn's Yolov3DetectionOutput for this net's levels, anchors and thresholds."""
        from compiler.ops import Yolov3DetectionOutput

        outputs = self.net.yolo_outputs
        anchors = [float(v) for output in outputs for v in output.anchors.data().asnumpy().reshape(-1)]
        count = outputs[0]._num_anchors
        return Yolov3DetectionOutput(num_classes=len(self.net.classes), num_box=count,
                                     confidence_threshold=0.01, nms_threshold=float(np.float32(self.net.nms_thresh)),
                                     biases=anchors, mask=range(len(outputs) * count),
                                     anchors_scale=[int(output._stride) for output in outputs],
                                     mask_group_num=len(outputs))

    def finish(self, graph) -> tuple[list[str], list[str]]:
        """Append the detection layer to the imported graph; returns (the differences in form or in edge cases from
        GluonCV's output, the approximations) for the report."""
        if self.ending is Ending.BOXES:
            return [], []
        if self.ending is Ending.NCNN_NATIVE:
            graph.outputs = [graph.add(self.native_detection_output(), *graph.outputs,
                                       name="yolov3_detection_out").result]
            return (["no runtime here runs ncnn's Yolov3DetectionOutput: --verify checks the prediction blobs "
                     "that feed it"],
                    [f"ncnn's native Yolov3DetectionOutput differs from GluonCV's detections: {NATIVE_DIFFERENCES}"])
        loc, conf, priors = graph.outputs
        detection = self.detection_output()
        graph.outputs = [graph.add(detection, loc, conf, priors, name="detection_out").result]
        return [f"YOLOv3 finished by DetectionOutput ({detection.code_type}, identity decode): GluonCV keeps the "
                f"top {self.net.nms_topk} (box, class) rows over all classes before NMS, DetectionOutput's "
                f"top_k={detection.top_k} is per class — identical detections whenever GluonCV returns "
                f"{detection.keep_top_k} of them or its nms_topk does not bind; otherwise GluonCV's are a "
                "subset",
                "outputs differ in form: GluonCV returns ids, scores and pixel boxes sorted by score and padded "
                "with −1; DetectionOutput returns rows [image, label (class + 1; label 0 is an all-zero "
                "background), score, xmin, ymin, xmax, ymax] normalised by the input size"], []

    def decode_metadata(self, input_shape, output_layers) -> dict | None:
        if self.ending is not Ending.BOXES:
            return None   # the model ends in a detection layer: nothing is left to the application
        net = self.net
        return {
            "model": "yolo3",
            "cut_before": "box_nms (Caffe has no per-class NMS outside caffe-ssd's DetectionOutput)",
            "input_shape": list(input_shape),
            "outputs": dict(zip(("boxes", "scores"), output_layers)),
            "layout": {"boxes": "(N, 4, P): x1, y1, x2, y2 in input pixels",
                       "scores": "(N, classes, P): sigmoid(class) · sigmoid(objectness)",
                       "P": "levels, then anchors, then cells (row-major)",
                       "levels": [{"height": h, "width": w, "anchors": a} for h, w, a in self.levels]},
            "nms": {"per_class": True, "iou_threshold": float(net.nms_thresh), "score_threshold": 0.01,
                    "topk_before": int(net.nms_topk), "keep": int(net.post_nms)},
            "classes": list(net.classes),
            "decode": [
                "rows = every (candidate, class) with score > score_threshold",
                "keep the topk_before best rows over all classes, then suppress, within each class, a row "
                "whose IoU with a better kept row exceeds iou_threshold",
                "the first `keep` survivors by score are the detections (class, score, box)",
            ],
        }

    def verification(self):
        from compiler.driver.families.yolo3 import verify

        if self.ending is Ending.NCNN_NATIVE:
            return verify.verify_native_yolo
        if self.ending.code is not None:
            return verify.verify_yolo
        return None   # boxes and scores: compared as tensors with the heads block in MXNet
