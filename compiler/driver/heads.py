"""Detectors whose decoder has no Caffe form: the model is converted up to the decoder, and the decode is described
in a JSON file beside it (PREFIX.decode.json) for the application to finish.

YOLOv3's decode is exact arithmetic (sigmoid, exp, constant grid and anchors) and converts; its per-class NMS
(box_nms) has no vanilla Caffe layer, so the model ends with the decoded boxes and scores.

CenterNet's decoder picks the top-k peaks of the class heatmap (topk), then gathers the size and offset at those
cells (gather_nd); Caffe has neither a top-k over a whole map nor a gather. Everything before it — the backbone, the
heads, the sigmoid and the 3×3 max pooling that marks the peaks — converts exactly.
"""
from __future__ import annotations

import functools

from compiler.errors import UnsupportedOp


def _center_net_class():
    try:
        from gluoncv.model_zoo.center_net.center_net import CenterNet
    except ImportError:   # GluonCV without CenterNet: nothing to cut
        return None
    return CenterNet


def _yolo_class():
    try:
        from gluoncv.model_zoo.yolo.yolo3 import YOLOV3
    except ImportError:
        return None
    return YOLOV3


def cut_decoder(net, input_shape=None):
    """The part of `net` that Caffe can run: a CenterNet's heads, a YOLOv3's decoded boxes and scores before its
    NMS (built for `input_shape`); any other block as it is."""
    yolo = _yolo_class()
    if yolo is not None and isinstance(net, yolo):
        if input_shape is None:
            raise UnsupportedOp("a YOLOv3 is cut before its NMS for one input size", node=net.name, op="YOLOV3",
                                hint="pass input_shape")
        return yolo_heads_class()(net, tuple(input_shape))
    center_net = _center_net_class()
    if center_net is None or not isinstance(net, center_net):
        return net
    if net.flip_test:
        raise UnsupportedOp("flip_test averages the heads with those of a mirrored input, which is not converted",
                            node=net.name, op="CenterNet", attribute="flip_test",
                            hint="build the model with flip_test=False")
    return center_net_heads_class()(net)


@functools.cache
def center_net_heads_class():
    """Defined on first use: it subclasses MXNet's HybridBlock, and importing MXNet is slow."""
    import mxnet as mx

    class CenterNetHeads(mx.gluon.HybridBlock):
        """A GluonCV CenterNet up to its decoder: (heatmap after the sigmoid, its 3×3 max pooling, wh, offset).
        A cell is a detection peak where the two heatmaps are equal, as in CenterNet's own decoder."""

        def __init__(self, net):
            super().__init__(prefix=net.prefix + "heads_")
            self.net = net

        def hybrid_forward(self, F, x):
            features = self.net.base_network(x)
            heatmap, wh, offset = (head(features) for head in self.net.heads)
            heatmap = F.sigmoid(heatmap)
            return heatmap, self.net.heatmap_nms(heatmap), wh, offset

        def decode_metadata(self, input_shape, output_names) -> dict:
            decoder = self.net.decoder
            return {
                "model": "center_net",
                "cut_before": "CenterNetDecoder (topk and gather_nd have no Caffe layer)",
                "input_shape": list(input_shape),
                "outputs": dict(zip(("heatmap", "peaks", "wh", "offset"), output_names)),
                "topk": int(decoder._topk),
                "scale": float(decoder._scale),
                "classes": list(getattr(self.net, "classes", []) or []),
                "decode": [
                    "keep = heatmap where peaks == heatmap, else 0 (N, classes, H, W)",
                    "scores, index = top-k of keep over classes·H·W; class = index // (H·W), cell = index % (H·W)",
                    "y = cell // W + offset[1, y, x], x = cell % W + offset[0, y, x]; w, h = wh[0], wh[1] at the cell",
                    "box = (x − w/2, y − h/2, x + w/2, y + h/2) · scale, in input pixels",
                ],
            }

    return CenterNetHeads


@functools.cache
def yolo_heads_class():
    """Defined on first use (see center_net_heads_class)."""
    import mxnet as mx
    import numpy as np

    class YOLOv3Heads(mx.gluon.HybridBlock):
        """A GluonCV YOLOv3 up to its NMS: boxes (N, 4, P) as pixel corners (x1, y1, x2, y2) and class scores
        (N, C, P) = sigmoid(class) · sigmoid(objectness), computed with GluonCV's own arithmetic. The P candidates
        run over levels, then anchors, then cells (GluonCV orders cells before anchors; NMS does not care).
        Channel-major, so that vanilla Caffe needs no Permute."""

        def __init__(self, net, input_shape):
            super().__init__(prefix=net.prefix + "heads_")
            self.net = net
            self.levels = []
            with mx.autograd.predict_mode():
                tips = self._tips(mx.nd, mx.nd.zeros(input_shape))
            with self.name_scope():
                for i, (output, tip) in enumerate(zip(net.yolo_outputs, tips)):
                    h, w = tip.shape[2:]
                    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
                    grid = np.stack([cols.reshape(-1), rows.reshape(-1)])[None, None].astype(np.float32)
                    anchors = output.anchors.data().asnumpy().reshape(1, -1, 2, 1)
                    for key, value in ((f"grid{i}", grid), (f"anchors{i}", anchors)):
                        constant = self.params.get_constant(key, value)
                        constant.initialize()
                        setattr(self, key, constant)
                    self.levels.append((h, w, output._num_anchors))

        def _tips(self, F, x):
            """The input of each YOLO output block, as YOLOV3.hybrid_forward computes it at inference."""
            net, routes, tips = self.net, [], []
            for stage in net.stages:
                x = stage(x)
                routes.append(x)
            for i, block in enumerate(net.yolo_blocks):
                x, tip = block(x)
                tips.append(tip)
                if i >= len(routes) - 1:
                    break
                x = net.transitions[i](x)
                upsampled = x.repeat(axis=-1, repeats=2).repeat(axis=-2, repeats=2)
                route = routes[::-1][i + 1]
                x = F.concat(F.slice_like(upsampled, route * 0, axes=(2, 3)), route, dim=1)
            return tips

        def hybrid_forward(self, F, x, **constants):
            boxes, scores = [], []
            for i, (output, tip) in enumerate(zip(self.net.yolo_outputs, self._tips(F, x))):
                pred = output.prediction(tip).reshape((0, output._num_anchors, output._num_pred, -1))
                centers = F.broadcast_add(F.sigmoid(pred.slice_axis(axis=2, begin=0, end=2)),
                                          constants[f"grid{i}"]) * output._stride
                sizes = F.broadcast_mul(F.exp(pred.slice_axis(axis=2, begin=2, end=4)), constants[f"anchors{i}"])
                confidence = F.sigmoid(pred.slice_axis(axis=2, begin=4, end=5))
                score = F.broadcast_mul(F.sigmoid(pred.slice_axis(axis=2, begin=5, end=None)), confidence)
                half = sizes / 2.0
                corners = F.concat(centers - half, centers + half, dim=2)   # (N, A, 4, H·W)
                boxes.append(corners.transpose((0, 2, 1, 3)).reshape((0, 0, -1)))
                scores.append(score.transpose((0, 2, 1, 3)).reshape((0, 0, -1)))
            return F.concat(*boxes, dim=2), F.concat(*scores, dim=2)

        def decode_metadata(self, input_shape, output_names) -> dict:
            net = self.net
            return {
                "model": "yolo3",
                "cut_before": "box_nms (Caffe has no per-class NMS outside caffe-ssd's DetectionOutput)",
                "input_shape": list(input_shape),
                "outputs": dict(zip(("boxes", "scores"), output_names)),
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

    return YOLOv3Heads


def decode_metadata(source, compiled) -> dict | None:
    """What the application must do after the converted model, or None when the model is complete."""
    describe = getattr(source, "decode_metadata", None)
    if describe is None:
        return None
    shape = compiled.graph.inputs[0].type.shape
    return describe(shape, compiled.output_layers)
