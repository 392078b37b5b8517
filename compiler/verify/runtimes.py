"""Caffe runtimes for verification, each imported only when used."""
from __future__ import annotations

import numpy as np

from compiler.errors import ConversionError


def run_opencv(prototxt: str, caffemodel: str, inputs: dict[str, np.ndarray], outputs: list[str],
               fusion: bool = True) -> list[np.ndarray]:
    """Run the files in OpenCV's dnn; `fusion=False` turns off its layer fusion (which has bugs of its own)."""
    try:
        import cv2
    except ImportError:
        raise ConversionError("OpenCV is not installed", hint="pip install 'gluon2caffe[verify]'") from None
    if not hasattr(cv2.dnn, "readNetFromCaffe"):
        raise ConversionError(f"OpenCV {cv2.__version__} has no Caffe importer", hint="install OpenCV 4.x")
    try:
        net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    except cv2.error as exc:
        raise ConversionError(f"OpenCV cannot load {prototxt}: {str(exc).strip().splitlines()[-1]}") from None
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.enableFusion(fusion)
    if hasattr(net, "enableWinograd"):
        net.enableWinograd(False)   # Winograd 3×3 convolutions trade accuracy for speed
    for name, array in inputs.items():
        net.setInput(np.ascontiguousarray(array, np.float32), name)
    try:
        return [np.array(o) for o in net.forward(outputs)]
    except cv2.error as exc:
        raise ConversionError(f"OpenCV failed to run {prototxt}: {str(exc).strip().splitlines()[-1]}") from None


RUNTIMES = {"opencv": run_opencv}


def run_runtime(name: str, prototxt: str, caffemodel: str, inputs, outputs, **options) -> list[np.ndarray]:
    if name not in RUNTIMES:
        raise ConversionError(f"unknown runtime {name!r}", hint=f"choose one of {', '.join(RUNTIMES)}")
    return RUNTIMES[name](prototxt, caffemodel, inputs, outputs, **options)
