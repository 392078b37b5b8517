"""GluonCV SSD: anchors, box decoder, class decoder and box_nms become caffe-ssd's PriorBox + DetectionOutput
(passes/fuse_ssd_head.py) on the targets that have them; elsewhere the model ends in its decoded boxes and class
scores (passes/fuse_box_nms.py) and PREFIX.decode.json describes the NMS left to the application."""
from __future__ import annotations

import contextlib
import functools
import re

import numpy as np

from compiler.driver.families import Family, Group
from compiler.driver.sources import BlockSource


@contextlib.contextmanager
def box_decoders(net, minimal: bool):
    """Trace GluonCV's box decoders in one of their two spellings of the same function (gluoncv/nn/coder.py): one
    `_contrib_box_decode` (minimal=False), which fuse_ssd_head turns into PriorBox + DetectionOutput, or a dozen
    elementary ops (minimal=True, the form pretrained GluonCV SSDs are built with), which every Caffe computes and
    fuse_box_nms then ends in boxes and scores for the application's NMS. The box_decode path rewrites the decoder's
    `_clip` (None → -1), which the minimal path would apply as a clamp: the minimal trace reads -1 as None, and both
    flags are restored afterwards."""
    switched = []

    def visit(block):
        if hasattr(block, "_minimal_opset") and hasattr(block, "_stds"):
            switched.append((block, block._minimal_opset, block._clip))
            block._minimal_opset = minimal
            if minimal and block._clip == -1:
                block._clip = None
    net.apply(visit)
    try:
        yield
    finally:
        for block, was_minimal, clip in switched:
            block._minimal_opset, block._clip = was_minimal, clip


@functools.cache
def _decoding_class():
    """Defined on first use: it subclasses MXNet's HybridBlock, and importing MXNet is slow."""
    import mxnet as mx

    class Decoding(mx.gluon.HybridBlock):
        """An SSD whose box decoders compute in the chosen spelling (box_decoders) whenever it runs or is traced."""

        def __init__(self, net, minimal: bool):
            super().__init__(prefix=net.prefix + "decoding_")
            self.net, self.minimal = net, minimal

        def hybrid_forward(self, F, x):
            with box_decoders(self.net, self.minimal):
                return self.net(x)

    return Decoding


class SSD(Family):
    name = "ssd"
    task = "detection"
    groups = (Group("ssd", r"^ssd_.*(?<!_int8)$"),)
    takes_new_classes = True
    block_class = ("gluoncv.model_zoo.ssd.ssd", "SSD")

    def default_input_hw(self, name: str) -> tuple[int, int]:
        size = re.match(r"ssd_(\d+)_", name)
        return (int(size.group(1)),) * 2 if size else self.input_hw

    def source(self, block, input_shape, target, options):
        # Where the target has caffe-ssd's layers the head becomes PriorBox + DetectionOutput; elsewhere (BVLC Caffe,
        # rknn: the board's CPU runs the NMS) the model ends in decoded boxes and scores, PREFIX.decode.json the rest.
        from passes.fuse_ssd_head import NEEDS as HEAD_LAYERS

        minimal = not HEAD_LAYERS <= target.layers
        return BlockSource(_decoding_class()(block, minimal), graph_name=block.name)

    def tune(self, net, seed: int, input_shape, max_candidates: int = 200) -> None:
        """Well-separated detections for a random SSD: box offsets scaled to std 1 and class logits to std 3 per
        level, then a background bias large enough that at most `max_candidates` (anchor, class) scores pass 0.01.
        Random weights otherwise give flat or saturated scores (ties make any comparison of detections meaningless)
        and, in nets without BatchNorm, box offsets whose exp() overflows."""
        import mxnet as mx

        from compiler.driver.reference import mxnet_internals

        rng = np.random.RandomState(seed + 1)
        batch = {"data": rng.standard_normal(input_shape).astype(np.float32)}
        box_convs = [bp.predictor for bp in net.box_predictors]
        for conv, value in zip(box_convs, mxnet_internals(net, batch, [c.name + "_fwd" for c in box_convs])):
            factor = 1.0 / max(float(value.std()), 1e-6)
            for param in (conv.weight, conv.bias):
                param.set_data(param.data() * factor)
        convs = [cp.predictor for cp in net.class_predictors]
        logits = mxnet_internals(net, batch, [conv.name + "_fwd" for conv in convs])
        classes = net.num_classes + 1
        per_level = []
        for conv, value in zip(convs, logits):
            factor = 3.0 / max(float(value.std()), 1e-6)
            for param in (conv.weight, conv.bias):
                param.set_data(param.data() * factor)
            n, channels, h, w = value.shape
            per_level.append((value * factor).reshape(n, channels // classes, classes, h, w)
                             .transpose(0, 3, 4, 1, 2).reshape(-1, classes))
        scores = np.concatenate(per_level).astype(np.float64)

        def candidates(background: float) -> int:
            shifted = scores.copy()
            shifted[:, 0] += background
            shifted -= shifted.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            return int((probs[:, 1:] > 0.01).sum())

        low, high = 0.0, 40.0
        for _ in range(30):
            middle = (low + high) / 2
            low, high = (middle, high) if candidates(middle) > max_candidates else (low, middle)
        for conv in convs:
            bias = conv.bias.data().asnumpy()
            bias[::classes] += high
            conv.bias.set_data(mx.nd.array(bias))
        mx.nd.waitall()


FAMILY = SSD()
