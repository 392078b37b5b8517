"""The seed tool's API, kept as a thin layer over the compiler."""
from __future__ import annotations

from compiler.driver.api import compile_model
from compiler.options import Options


def convert_model(net, input_shape=(1, 3, 224, 224), softmax: bool = False, to_bgr: bool = False,
                  merge_bn: bool = True, target: str = "caffe"):
    """Convert a Gluon HybridBlock; returns (text_net, binary_weights) for save_model.

    text_net is the prototxt as a NetParameter message; binary_weights writes the caffemodel
    (it has SerializeToString(), like the message the seed tool returned).
    """
    compiled = compile_model(net, input_shape, target=target,
                             options=Options(softmax=softmax, to_bgr=to_bgr, merge_bn=merge_bn))
    return compiled.net(), compiled.weights()


def save_model(text_net, binary_weights, prefix: str) -> tuple[str, str]:
    """Write PREFIX.prototxt and PREFIX.caffemodel atomically (both or neither)."""
    from backends.writer import prototxt_text, write_files

    return write_files(prefix, prototxt_text(text_net), binary_weights)


def convert_ssd_model(net, input_shape=(1, 3, 512, 512), to_bgr: bool = True, merge_bn: bool = True,
                      target: str = "caffe-ssd", confidence_threshold: float | None = None,
                      integer_sizes: bool = False):
    """Convert a GluonCV SSD (anchors, decoder and NMS become PriorBox + DetectionOutput); returns what
    save_model writes. The compilation report lists how Caffe's detections can differ from GluonCV's;
    integer_sizes makes fractional prior sizes exact in weiliu89's caffe-ssd (see --ssd-integer-sizes)."""
    compiled = compile_model(net, input_shape, target=target,
                             options=Options(to_bgr=to_bgr, merge_bn=merge_bn, ssd_confidence=confidence_threshold,
                                             ssd_integer_sizes=integer_sizes))
    return compiled.net(), compiled.weights()
