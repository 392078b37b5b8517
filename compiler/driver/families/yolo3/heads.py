"""The part of a YOLOv3 that Caffe runs, as a Gluon block over the net's own layers, and the source that imports it
and finishes its ending."""
from __future__ import annotations

import functools

import numpy as np

from compiler.driver.families.yolo3 import Ending

# How ncnn's Yolov3DetectionOutput differs from GluonCV's post-processing (read from ncnn's layer source).
NATIVE_DIFFERENCES = ("one class per box, the best class logit, where GluonCV scores every class; a class-agnostic "
                      "NMS over all levels, where GluonCV suppresses within a class; no top-k before NMS and no "
                      "keep limit after it (GluonCV: nms_topk, post_nms); score ≥ 0.01 where GluonCV needs > 0.01; "
                      "centres as (cell + sigmoid) / grid size and sizes as exp · anchor / (stride · grid size), "
                      "which equal GluonCV's only when the input is a multiple of the largest stride")


@functools.cache
def heads_class():
    """Defined on first use: it subclasses MXNet's HybridBlock, and importing MXNet is slow."""
    import mxnet as mx

    class YOLOv3Heads(mx.gluon.HybridBlock):
        """A GluonCV YOLOv3 up to its NMS, computed with GluonCV's own arithmetic (sigmoid(t) + cell, exp(t) ·
        anchor, sigmoid(class) · sigmoid(objectness)). The P candidates run over levels, then anchors, then cells
        (GluonCV orders cells before anchors; NMS does not care).

        Ending.BOXES: boxes (N, 4, P) as pixel corners (x1, y1, x2, y2) and class scores (N, C, P), channel-major so
        that vanilla Caffe needs no Permute.

        Ending.CORNER or CENTER_SIZE: the three bottoms of a DetectionOutput that returns GluonCV's detections — loc
        (N, 4·P), conf (N, P·(C+1)) with an all-zero background class 0 first (ncnn's layer always skips class 0),
        priors (1, 2, 4·P) made from loc by ×0 (+c), so that they come from graph values through exact layers.
        CORNER: loc holds the normalised corners, the priors are all zero with variance 1, and the decode 0 + 1·loc
        returns them unchanged. CENTER_SIZE (ncnn): loc holds (cx, cy, log w, log h) normalised, the priors are the
        unit box centred at 0 with variance 1, and the decode returns (cx, cy, exp(log w), exp(log h)); log w = t_w
        + log(anchor_w / W) is exact up to rounding.

        Ending.NCNN_NATIVE: each level's raw prediction, which ncnn's layer decodes itself."""

        def __init__(self, net, input_shape, ending: Ending):
            super().__init__(prefix=net.prefix + "heads_")
            self.net = net
            self.input_shape, self.ending = tuple(input_shape), ending
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
                    if ending.code is not None:   # normalised by the input size, as DetectionOutput works
                        per_axis = np.array([image_w, image_h], np.float64).reshape(1, 1, 2, 1)
                        constants = {f"grid{i}": grid, f"scale{i}": (output._stride / per_axis).astype(np.float32),
                                     f"anchors{i}": (anchors / per_axis).astype(np.float32)}
                        if ending is Ending.CENTER_SIZE:
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
            if self.ending is Ending.NCNN_NATIVE:   # ncnn's layer decodes the raw predictions itself
                return tuple(output.prediction(tip) for output, tip in zip(self.net.yolo_outputs, self._tips(F, x)))
            boxes, scores = [], []
            for i, (output, tip) in enumerate(zip(self.net.yolo_outputs, self._tips(F, x))):
                pred = output.prediction(tip).reshape((0, output._num_anchors, output._num_pred, -1))
                offsets = F.broadcast_add(F.sigmoid(pred.slice_axis(axis=2, begin=0, end=2)), constants[f"grid{i}"])
                raw_sizes = pred.slice_axis(axis=2, begin=2, end=4)
                confidence = F.sigmoid(pred.slice_axis(axis=2, begin=4, end=5))
                score = F.broadcast_mul(F.sigmoid(pred.slice_axis(axis=2, begin=5, end=None)), confidence)
                if self.ending is Ending.BOXES:
                    boxes.append(self._corners(F, offsets * output._stride,
                                               F.broadcast_mul(F.exp(raw_sizes), constants[f"anchors{i}"])))
                    scores.append(score)
                    continue
                centers = F.broadcast_mul(offsets, constants[f"scale{i}"])
                if self.ending is Ending.CORNER:
                    box = self._corners(F, centers, F.broadcast_mul(F.exp(raw_sizes), constants[f"anchors{i}"]))
                else:
                    box = F.concat(centers, F.broadcast_add(raw_sizes, constants[f"anchors{i}"]), dim=2)
                background = score.slice_axis(axis=2, begin=0, end=1) * 0
                boxes.append(box)
                scores.append(F.concat(background, score, dim=2))
            if self.ending is Ending.BOXES:   # (N, A, k, H·W) per level → (N, k, P)
                return tuple(F.concat(*[part.transpose((0, 2, 1, 3)).reshape((0, 0, -1)) for part in parts], dim=2)
                             for parts in (boxes, scores))
            # (N, A, k, H·W) per level → (N, P·k), prior-major as DetectionOutput reads it
            loc, conf = (F.concat(*[part.transpose((0, 1, 3, 2)).reshape((0, -1)) for part in parts], dim=1)
                         for parts in (boxes, scores))
            zeros = loc.slice_axis(axis=0, begin=0, end=1).reshape((1, 1, -1)) * 0
            if self.ending is Ending.CORNER:
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

    return YOLOv3Heads
