"""CenterNet: converted up to its decoder. The decoder picks the top-k peaks of the class heatmap (topk), then
gathers the size and offset at those cells (gather_nd); Caffe has neither a top-k over a whole map nor a gather.
Everything before it — the backbone, the heads, the sigmoid and the 3×3 max pooling that marks the peaks — converts
exactly, and PREFIX.decode.json says how the application finishes."""
from __future__ import annotations

import functools

from compiler.driver.families import Family, Group
from compiler.driver.sources import BlockSource
from compiler.errors import UnsupportedOp


@functools.cache
def heads_class():
    """The cut block: defined on first use, since it subclasses MXNet's HybridBlock and importing MXNet is slow."""
    import mxnet as mx

    class CenterNetHeads(mx.gluon.HybridBlock):
        """A GluonCV CenterNet up to its decoder: (heatmap after the sigmoid, its 3×3 max pooling, wh, offset). A
        cell is a detection peak where the two heatmaps are equal, as in CenterNet's own decoder."""

        def __init__(self, net):
            super().__init__(prefix=net.prefix + "heads_")
            self.net = net

        def hybrid_forward(self, F, x):
            features = self.net.base_network(x)
            heatmap, wh, offset = (head(features) for head in self.net.heads)
            heatmap = F.sigmoid(heatmap)
            return heatmap, self.net.heatmap_nms(heatmap), wh, offset

    return CenterNetHeads


class CenterNetSource(BlockSource):
    def __init__(self, net):
        super().__init__(heads_class()(net))
        self.net = net

    def decode_metadata(self, input_shape, output_layers) -> dict:
        decoder = self.net.decoder
        return {
            "model": "center_net",
            "cut_before": "CenterNetDecoder (topk and gather_nd have no Caffe layer)",
            "input_shape": list(input_shape),
            "outputs": dict(zip(("heatmap", "peaks", "wh", "offset"), output_layers)),
            "topk": int(decoder._topk),
            "scale": float(decoder._scale),
            "classes": list(self.net.classes or []),
            "decode": [
                "keep = heatmap where peaks == heatmap, else 0 (N, classes, H, W)",
                "scores, index = top-k of keep over classes·H·W; class = index // (H·W), cell = index % (H·W)",
                "y = cell // W + offset[1, y, x], x = cell % W + offset[0, y, x]; w, h = wh[0], wh[1] at the cell",
                "box = (x − w/2, y − h/2, x + w/2, y + h/2) · scale, in input pixels",
            ],
        }


class CenterNetFamily(Family):
    name = "center_net"
    task = "detection"
    groups = (Group("center_net", r"^center_net_"),)
    input_hw = (512, 512)
    takes_new_classes = True
    block_class = ("gluoncv.model_zoo.center_net.center_net", "CenterNet")

    def source(self, block, input_shape, target, options):
        if block.flip_test:
            raise UnsupportedOp("flip_test averages the heads with those of a mirrored input, which is not converted",
                                node=block.name, op="CenterNet", attribute="flip_test",
                                hint="build the model with flip_test=False")
        return CenterNetSource(block)


FAMILY = CenterNetFamily()
