"""YOLOv3: its decode is exact arithmetic (sigmoid, exp, a constant grid and anchors) and converts; its per-class NMS
(box_nms) exists only as caffe-ssd's DetectionOutput. On a target with DetectionOutput the model ends in one that
returns GluonCV's detections; elsewhere it ends in the decoded boxes and scores, and PREFIX.decode.json describes the
NMS left to the application; on ncnn, --ncnn-yolo-layer ends it in ncnn's own Yolov3DetectionOutput instead (an
approximation, reported)."""
from __future__ import annotations

import enum

import numpy as np

from compiler.driver.families import Family, Group
from compiler.errors import UnsupportedOp
from compiler.ops.detection import BoxCode


class Ending(enum.Enum):
    """How a converted YOLOv3 ends."""
    BOXES = "decoded boxes and scores"                   # the application runs the NMS (PREFIX.decode.json)
    CORNER = "DetectionOutput, CORNER identity decode"
    CENTER_SIZE = "DetectionOutput, CENTER_SIZE identity decode"
    NCNN_NATIVE = "ncnn Yolov3DetectionOutput"           # ncnn's own decoder and NMS on the raw predictions

    @property
    def code(self) -> BoxCode | None:
        """The DetectionOutput code type of an ending in DetectionOutput."""
        return {Ending.CORNER: BoxCode.CORNER, Ending.CENTER_SIZE: BoxCode.CENTER_SIZE}.get(self)


def ending_for(target, options) -> Ending:
    """ncnn's native layer when options.ncnn_yolo_layer asks for it (ncnn only); else DetectionOutput where the target
    has it (CORNER where its layer decodes CORNER: the boxes pass through unchanged); else the decoded boxes."""
    if options is not None and options.ncnn_yolo_layer:
        if "Yolov3DetectionOutput" not in target.layers:
            raise UnsupportedOp("ncnn's native Yolov3DetectionOutput exists only on the ncnn targets",
                                op="Yolov3DetectionOutput", attribute="ncnn_yolo_layer",
                                hint="use --target ncnn or ncnn-native, or drop --ncnn-yolo-layer")
        return Ending.NCNN_NATIVE
    if "DetectionOutput" not in target.layers:
        return Ending.BOXES
    return Ending.CORNER if BoxCode.CORNER in target.policy.detection_codes else Ending.CENTER_SIZE


class YOLOv3(Family):
    name = "yolo3"
    task = "detection"
    groups = (Group("yolo3", r"^yolo3_"),)
    input_hw = (416, 416)
    takes_new_classes = True
    block_class = ("gluoncv.model_zoo.yolo.yolo3", "YOLOV3")

    def source(self, block, input_shape, target, options):
        from compiler.driver.families.yolo3.source import YoloSource

        if input_shape is None:
            raise UnsupportedOp("a YOLOv3 is cut before its NMS for one input size", node=block.name, op="YOLOV3",
                                hint="pass input_shape")
        return YoloSource(block, tuple(input_shape), ending_for(target, options))

    def tune(self, net, seed: int, input_shape, max_candidates: int = 200) -> None:
        """Well-separated detections for a random YOLOv3, as for SSD: box offsets scaled to std 1 (exp() of random
        logits overflows), class and objectness logits to std 3, then one objectness bias shift that leaves at most
        `max_candidates` (box, class) scores above 0.01 — so GluonCV's top-k before NMS never binds."""
        import mxnet as mx

        from compiler.driver.reference import mxnet_internals

        rng = np.random.RandomState(seed + 2)
        batch = {"data": rng.standard_normal(input_shape).astype(np.float32)}
        convs = [output.prediction for output in net.yolo_outputs]
        logits = mxnet_internals(net, batch, [conv.name + "_fwd" for conv in convs])
        per_level = []
        for output, conv, value in zip(net.yolo_outputs, convs, logits):
            anchors, preds = output._num_anchors, output._num_pred
            value = value.reshape(value.shape[0], anchors, preds, -1)
            factor = np.ones((anchors, preds))
            factor[:, :4] = 1.0 / max(float(value[:, :, :4].std()), 1e-6)
            factor[:, 4:] = 3.0 / max(float(value[:, :, 4:].std()), 1e-6)
            for param in (conv.weight, conv.bias):
                data = param.data().asnumpy()
                param.set_data(mx.nd.array(data * factor.reshape((-1,) + (1,) * (data.ndim - 1))))
            per_level.append((value * factor[None, :, :, None]).transpose(0, 1, 3, 2).reshape(-1, preds))
        rows = np.concatenate(per_level).astype(np.float64)

        def candidates(shift: float) -> int:
            objectness = 1 / (1 + np.exp(-(rows[:, 4:5] + shift)))
            return int(((1 / (1 + np.exp(-rows[:, 5:]))) * objectness > 0.01).sum())

        low, high = -40.0, 0.0
        for _ in range(30):
            middle = (low + high) / 2
            low, high = (low, middle) if candidates(middle) > max_candidates else (middle, high)
        for output, conv in zip(net.yolo_outputs, convs):
            bias = conv.bias.data().asnumpy().reshape(output._num_anchors, output._num_pred)
            bias[:, 4] += low
            conv.bias.set_data(mx.nd.array(bias.reshape(-1)))
        mx.nd.waitall()


FAMILY = YOLOv3()
