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
import sys

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


NCNN_NATIVE = "ncnn Yolov3DetectionOutput"   # YOLOv3Heads.code_type of a model ending in ncnn's own layer


def detection_code(target, options=None) -> str | None:
    """How a YOLOv3 ends on `target`: the DetectionOutput code type (CORNER where the consumer decodes it: the
    boxes pass through unchanged), NCNN_NATIVE when options.ncnn_yolo_layer asks for ncnn's own layer, or None
    (decoded boxes and scores) when the target has no DetectionOutput."""
    if options is not None and options.ncnn_yolo_layer:
        if target is None or "Yolov3DetectionOutput" not in target.layers:
            raise UnsupportedOp("ncnn's native Yolov3DetectionOutput exists only on the ncnn target",
                                op="Yolov3DetectionOutput", attribute="ncnn_yolo_layer",
                                hint="use --target ncnn, or drop --ncnn-yolo-layer")
        return NCNN_NATIVE
    if target is None or "DetectionOutput" not in target.layers:
        return None
    return "CORNER" if "CORNER" in target.policy.detection_codes else "CENTER_SIZE"


def cut_decoder(net, input_shape=None, target=None, options=None):
    """The part of `net` that Caffe can run: a CenterNet's heads; a YOLOv3's decoded boxes and scores before its
    NMS (built for `input_shape`), or — for a `target` with DetectionOutput — the loc, conf and priors blobs that
    a DetectionOutput turns into GluonCV's detections; any other block as it is."""
    yolo = _yolo_class()
    heads = yolo_heads_class() if yolo is not None else None
    if heads is not None and isinstance(net, heads):
        code = detection_code(target, options)
        return net if target is None or code == net.code_type else heads(net.net, net.input_shape, code)
    if yolo is not None and isinstance(net, yolo):
        if input_shape is None:
            raise UnsupportedOp("a YOLOv3 is cut before its NMS for one input size", node=net.name, op="YOLOV3",
                                hint="pass input_shape")
        return heads(net, tuple(input_shape), detection_code(target, options))
    center_net = _center_net_class()
    if center_net is None or not isinstance(net, center_net):
        return net
    if net.flip_test:
        raise UnsupportedOp("flip_test averages the heads with those of a mirrored input, which is not converted",
                            node=net.name, op="CenterNet", attribute="flip_test",
                            hint="build the model with flip_test=False")
    return center_net_heads_class()(net)


@functools.cache
def cut_model_class():
    """The base of the cut detectors. Defined on first use: it subclasses MXNet's HybridBlock, and importing MXNet
    is slow."""
    import mxnet as mx

    class CutModel(mx.gluon.HybridBlock):
        """A zoo model `net` up to the part that Caffe cannot run. finish_graph may append the layers that end it
        in Caffe; decode_metadata describes what the application must still do (None: nothing)."""

        def __init__(self, net):
            super().__init__(prefix=net.prefix + "heads_")
            self.net = net

        def finish_graph(self, graph) -> tuple[list[str], list[str]]:
            """Change the imported graph of this block as its target needs; returns (notes, approximations)."""
            return [], []

        def decode_metadata(self, input_shape, output_names) -> dict | None:
            return None

    return CutModel


@functools.cache
def center_net_heads_class():
    """Defined on first use (see cut_model_class)."""

    class CenterNetHeads(cut_model_class()):
        """A GluonCV CenterNet up to its decoder: (heatmap after the sigmoid, its 3×3 max pooling, wh, offset).
        A cell is a detection peak where the two heatmaps are equal, as in CenterNet's own decoder."""

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


# How ncnn's Yolov3DetectionOutput differs from GluonCV's post-processing (read from ncnn's layer source).
NATIVE_DIFFERENCES = ("one class per box, the best class logit, where GluonCV scores every class; a class-agnostic "
                      "NMS over all levels, where GluonCV suppresses within a class; no top-k before NMS and no "
                      "keep limit after it (GluonCV: nms_topk, post_nms); score ≥ 0.01 where GluonCV needs > 0.01; "
                      "centres as (cell + sigmoid) / grid size and sizes as exp · anchor / (stride · grid size), "
                      "which equal GluonCV's only when the input is a multiple of the largest stride")


@functools.cache
def yolo_heads_class():
    """Defined on first use (see cut_model_class)."""
    import mxnet as mx
    import numpy as np

    class YOLOv3Heads(cut_model_class()):
        """A GluonCV YOLOv3 up to its NMS, computed with GluonCV's own arithmetic (sigmoid(t) + cell, exp(t) ·
        anchor, sigmoid(class) · sigmoid(objectness)). The P candidates run over levels, then anchors, then cells
        (GluonCV orders cells before anchors; NMS does not care).

        code_type None: boxes (N, 4, P) as pixel corners (x1, y1, x2, y2) and class scores (N, C, P), channel-major
        so that vanilla Caffe needs no Permute.

        code_type "CORNER" or "CENTER_SIZE": the three bottoms of a DetectionOutput that returns GluonCV's
        detections — loc (N, 4·P), conf (N, P·(C+1)) with an all-zero background class 0 first (ncnn's layer
        always skips class 0), priors (1, 2, 4·P) made from loc by ×0 (+c), so that they come from graph values
        through exact layers. CORNER: loc holds the normalised corners, the priors are all zero with variance 1,
        and the decode 0 + 1·loc returns them unchanged. CENTER_SIZE (ncnn): loc holds (cx, cy, log w, log h)
        normalised, the priors are the unit box centred at 0 with variance 1, and the decode returns
        (cx, cy, exp(log w), exp(log h)); log w = t_w + log(anchor_w / W) is exact up to rounding."""

        def __init__(self, net, input_shape, code_type=None):
            super().__init__(net)
            self.input_shape, self.code_type = tuple(input_shape), code_type
            self.levels = []
            image_h, image_w = self.input_shape[2:]
            with mx.autograd.predict_mode():
                tips = self._tips(mx.nd, mx.nd.zeros(self.input_shape))
            with self.name_scope():
                for i, (output, tip) in enumerate(zip(net.yolo_outputs, tips)):
                    h, w = tip.shape[2:]
                    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
                    grid = np.stack([cols.reshape(-1), rows.reshape(-1)])[None, None].astype(np.float32)
                    anchors = output.anchors.data().asnumpy().reshape(1, -1, 2, 1)
                    constants = {f"grid{i}": grid, f"anchors{i}": anchors}
                    if code_type not in (None, NCNN_NATIVE):   # normalised by the input size, as DetectionOutput works
                        per_axis = np.array([image_w, image_h], np.float64).reshape(1, 1, 2, 1)
                        constants = {f"grid{i}": grid, f"scale{i}": (output._stride / per_axis).astype(np.float32),
                                     f"anchors{i}": (anchors / per_axis).astype(np.float32)}
                        if code_type == "CENTER_SIZE":
                            constants[f"anchors{i}"] = np.log(anchors / per_axis).astype(np.float32)
                    for key, value in constants.items():
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
            if self.code_type == NCNN_NATIVE:   # ncnn's layer decodes the raw predictions itself
                return tuple(output.prediction(tip) for output, tip in zip(self.net.yolo_outputs, self._tips(F, x)))
            boxes, scores = [], []
            for i, (output, tip) in enumerate(zip(self.net.yolo_outputs, self._tips(F, x))):
                pred = output.prediction(tip).reshape((0, output._num_anchors, output._num_pred, -1))
                offsets = F.broadcast_add(F.sigmoid(pred.slice_axis(axis=2, begin=0, end=2)), constants[f"grid{i}"])
                raw_sizes = pred.slice_axis(axis=2, begin=2, end=4)
                confidence = F.sigmoid(pred.slice_axis(axis=2, begin=4, end=5))
                score = F.broadcast_mul(F.sigmoid(pred.slice_axis(axis=2, begin=5, end=None)), confidence)
                if self.code_type is None:
                    boxes.append(self._corners(F, offsets * output._stride,
                                               F.broadcast_mul(F.exp(raw_sizes), constants[f"anchors{i}"])))
                    scores.append(score)
                    continue
                centers = F.broadcast_mul(offsets, constants[f"scale{i}"])
                if self.code_type == "CORNER":
                    box = self._corners(F, centers, F.broadcast_mul(F.exp(raw_sizes), constants[f"anchors{i}"]))
                else:
                    box = F.concat(centers, F.broadcast_add(raw_sizes, constants[f"anchors{i}"]), dim=2)
                background = score.slice_axis(axis=2, begin=0, end=1) * 0
                boxes.append(box)
                scores.append(F.concat(background, score, dim=2))
            if self.code_type is None:   # (N, A, k, H·W) per level → (N, k, P)
                return tuple(F.concat(*[part.transpose((0, 2, 1, 3)).reshape((0, 0, -1)) for part in parts], dim=2)
                             for parts in (boxes, scores))
            # (N, A, k, H·W) per level → (N, P·k), prior-major as DetectionOutput reads it
            loc, conf = (F.concat(*[part.transpose((0, 1, 3, 2)).reshape((0, -1)) for part in parts], dim=1)
                         for parts in (boxes, scores))
            zeros = loc.slice_axis(axis=0, begin=0, end=1).reshape((1, 1, -1)) * 0
            if self.code_type == "CORNER":
                priors = zeros
            else:   # (x1, y1, x2, y2) = (−½, −½, ½, ½) for every prior
                pairs = zeros.reshape((1, -1, 2, 2))
                priors = F.concat(pairs.slice_axis(axis=2, begin=0, end=1) - 0.5,
                                  pairs.slice_axis(axis=2, begin=1, end=2) + 0.5, dim=2).reshape((1, 1, -1))
            return loc, conf, F.concat(priors, zeros + 1, dim=1)

        @staticmethod
        def _corners(F, centers, sizes):
            half = sizes / 2.0
            return F.concat(centers - half, centers + half, dim=2)   # (N, A, 4, H·W)

        def detection_output(self):
            """The DetectionOutput that finishes this model as GluonCV's box_nms does: per class, IoU > nms_thresh
            suppressed, scores > 0.01, top_k = nms_topk, keep_top_k = post_nms."""
            from compiler.ops.detection import DetectionOutput

            net = self.net
            count = sum(h * w * a for h, w, a in self.levels)
            return DetectionOutput(num_classes=len(net.classes) + 1, nms_threshold=float(np.float32(net.nms_thresh)),
                                   top_k=int(net.nms_topk) if net.nms_topk > 0 else count,
                                   keep_top_k=int(net.post_nms) if net.post_nms > 0 else count * len(net.classes),
                                   confidence_threshold=0.01, code_type=self.code_type)

        def native_detection_output(self):
            """ncnn's Yolov3DetectionOutput for this net's levels, anchors and thresholds."""
            from compiler.ops.detection import Yolov3DetectionOutput

            outputs = self.net.yolo_outputs
            anchors = [float(v) for output in outputs for v in output.anchors.data().asnumpy().reshape(-1)]
            count = outputs[0]._num_anchors
            return Yolov3DetectionOutput(num_classes=len(self.net.classes), num_box=count,
                                         confidence_threshold=0.01, nms_threshold=float(np.float32(self.net.nms_thresh)),
                                         biases=anchors, mask=range(len(outputs) * count),
                                         anchors_scale=[int(output._stride) for output in outputs],
                                         mask_group_num=len(outputs))

        def finish_graph(self, graph) -> tuple[list[str], list[str]]:
            """Append the detection layer to an imported graph of this block; returns (the differences in form or
            in edge cases from GluonCV's output, the approximations) for the report."""
            if self.code_type is None:
                return [], []
            if self.code_type == NCNN_NATIVE:
                graph.outputs = [graph.add(self.native_detection_output(), *graph.outputs,
                                           name="yolov3_detection_out").result]
                return (["no runtime here runs ncnn's Yolov3DetectionOutput: --verify checks the prediction blobs "
                         "that feed it"],
                        [f"ncnn's native Yolov3DetectionOutput differs from GluonCV's detections: {NATIVE_DIFFERENCES}"])
            loc, conf, priors = graph.outputs
            detection = self.detection_output()
            graph.outputs = [graph.add(detection, loc, conf, priors, name="detection_out").result]
            return [f"YOLOv3 finished by DetectionOutput ({self.code_type}, identity decode): GluonCV keeps the "
                    f"top {self.net.nms_topk} (box, class) rows over all classes before NMS, DetectionOutput's "
                    f"top_k={detection.top_k} is per class — identical detections whenever GluonCV returns "
                    f"{detection.keep_top_k} of them or its nms_topk does not bind; otherwise GluonCV's are a "
                    "subset",
                    "outputs differ in form: GluonCV returns ids, scores and pixel boxes sorted by score and padded "
                    "with −1; DetectionOutput returns rows [image, label (class + 1; label 0 is an all-zero "
                    "background), score, xmin, ymin, xmax, ymax] normalised by the input size"], []

        def decode_metadata(self, input_shape, output_names) -> dict | None:
            if self.code_type is not None:
                return None   # the model ends in DetectionOutput: nothing is left to the application
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


def is_cut_model(source) -> bool:
    """Whether `source` is a detector cut by cut_decoder (which has finish_graph and decode_metadata)."""
    return "mxnet" in sys.modules and isinstance(source, cut_model_class())


def decode_metadata(source, compiled) -> dict | None:
    """What the application must do after the converted model, or None when the model is complete."""
    if not is_cut_model(source):
        return None
    return source.decode_metadata(compiled.graph.inputs[0].type.shape, compiled.output_layers)
