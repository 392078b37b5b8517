"""The seed tool's API — `convert_model`, `convert_ssd_model`, `save_model` — kept for scripts written against it:
a thin layer over compile_model, its defaults those of compiler/options.py (except where the seed tool's differed:
convert_ssd_model takes BGR by default). Any other option is a keyword too (mean=..., relu6="approx", ...)."""
from __future__ import annotations

from compiler.driver.api import compile_model
from compiler.options import DEFAULTS, Options


def convert_model(net, input_shape=(1, 3, 224, 224), softmax: bool = DEFAULTS.softmax, to_bgr: bool = DEFAULTS.to_bgr,
                  merge_bn: bool = DEFAULTS.merge_bn, target: str = "caffe", **options):
    """Convert a Gluon HybridBlock; returns (text_net, binary_weights) for save_model.

    text_net is the prototxt as a NetParameter message; binary_weights writes the caffemodel
    (it has SerializeToString(), like the message the seed tool returned).
    """
    compiled = compile_model(net, input_shape, target=target,
                             options=Options(softmax=softmax, to_bgr=to_bgr, merge_bn=merge_bn, **options))
    return compiled.net(), compiled.weights()


def save_model(text_net, binary_weights, prefix: str) -> tuple[str, str]:
    """Write PREFIX.prototxt and PREFIX.caffemodel atomically (both or neither)."""
    from backends.writer import prototxt_text, write_files

    return write_files(prefix, prototxt_text(text_net), binary_weights)


def convert_ssd_model(net, input_shape=(1, 3, 512, 512), to_bgr: bool = True, merge_bn: bool = DEFAULTS.merge_bn,
                      target: str = "caffe-ssd", confidence_threshold: float | None = DEFAULTS.ssd_confidence,
                      integer_sizes: bool = DEFAULTS.ssd_integer_sizes, **options):
    """Convert a GluonCV SSD (anchors, decoder and NMS become PriorBox + DetectionOutput); returns what
    save_model writes. The compilation report lists how Caffe's detections can differ from GluonCV's;
    `confidence_threshold` is the ssd_confidence option, `integer_sizes` ssd_integer_sizes (exact fractional prior
    sizes in weiliu89's caffe-ssd)."""
    compiled = compile_model(net, input_shape, target=target,
                             options=Options(to_bgr=to_bgr, merge_bn=merge_bn, ssd_confidence=confidence_threshold,
                                             ssd_integer_sizes=integer_sizes, **options))
    return compiled.net(), compiled.weights()
