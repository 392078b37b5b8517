"""GluonCV SSD: anchors, box decoder, class decoder and box_nms become caffe-ssd's PriorBox + DetectionOutput
(passes/fuse_ssd_head.py) on the targets that have them; BVLC Caffe has neither (the model needs another target)."""
from __future__ import annotations

import contextlib
import functools
import re

import numpy as np

from compiler.driver.families import Family, Group
from compiler.driver.sources import BlockSource


@contextlib.contextmanager
def single_op_box_decoder(net):
    """Trace GluonCV's box decoders as `_contrib_box_decode`. Pretrained GluonCV SSDs are built with
    `minimal_opset=True`, which spells the same decoding as a dozen elementary ops (converted too, by
    fuse_box_nms, but without PriorBox); both forms compute the same function (gluoncv/nn/coder.py). The box_decode
    path also rewrites the decoder's `_clip` (None → -1), which the minimal path would then apply as a clamp, so
    both are restored."""
    switched = []

    def visit(block):
        if getattr(block, "_minimal_opset", False) and hasattr(block, "_stds"):
            switched.append((block, block._clip))
            block._minimal_opset = False
    net.apply(visit)
    try:
        yield
    finally:
        for block, clip in switched:
            block._minimal_opset = True
            block._clip = clip


@functools.cache
def _decoding_class():
    """Defined on first use: it subclasses MXNet's HybridBlock, and importing MXNet is slow."""
    import mxnet as mx

    class SingleOpDecoding(mx.gluon.HybridBlock):
        """An SSD whose box decoders compute with `_contrib_box_decode` whenever it runs or is traced."""

        def __init__(self, net):
            super().__init__(prefix=net.prefix + "decoding_")
            self.net = net

        def hybrid_forward(self, F, x):
            with single_op_box_decoder(self.net):
                return self.net(x)

    return SingleOpDecoding


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
        return BlockSource(_decoding_class()(block), graph_name=block.name)

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
