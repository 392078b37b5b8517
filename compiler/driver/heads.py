"""Detectors whose decoder has no Caffe form: the model is converted up to the decoder, and the decode is described
in a JSON file beside it (PREFIX.decode.json) for the application to finish.

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


def cut_decoder(net):
    """The part of `net` that Caffe can run: a CenterNet's heads; any other block as it is."""
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


def decode_metadata(source, compiled) -> dict | None:
    """What the application must do after the converted model, or None when the model is complete."""
    describe = getattr(source, "decode_metadata", None)
    if describe is None:
        return None
    shape = compiled.graph.inputs[0].type.shape
    return describe(shape, compiled.output_layers)
