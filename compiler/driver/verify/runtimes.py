"""Caffe runtimes for verification, each imported only when used."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

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


PYCAFFE_VERSION = "brocolli-9.0.2"


def pycaffe_path() -> str | None:
    """The python/ directory of a built pycaffe: $GLUON2CAFFE_PYCAFFE, else where tests/runtimes/build_pycaffe.sh
    caches it."""
    explicit = os.environ.get("GLUON2CAFFE_PYCAFFE")
    if explicit:
        return explicit if os.path.isfile(os.path.join(explicit, "caffe", "_caffe.so")) else None
    cache = os.environ.get("GLUON2CAFFE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gluon2caffe")
    path = os.path.join(cache, f"pycaffe-{PYCAFFE_VERSION}-py{sys.version_info[0]}{sys.version_info[1]}", "python")
    return path if os.path.isfile(os.path.join(path, "caffe", "_caffe.so")) else None


def run_pycaffe(prototxt: str, caffemodel: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    path = pycaffe_path()
    if path is None:
        raise ConversionError("pycaffe is not available", hint="build it with tests/runtimes/build_pycaffe.sh, or "
                                                               "set GLUON2CAFFE_PYCAFFE to its python/ directory")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([path, *filter(None, [os.environ.get("PYTHONPATH")])]),
               GLOG_minloglevel="2")
    with tempfile.TemporaryDirectory() as directory:
        given, taken = os.path.join(directory, "inputs.npz"), os.path.join(directory, "outputs.npz")
        np.savez(given, **{k: np.ascontiguousarray(v, np.float32) for k, v in inputs.items()})
        done = subprocess.run([sys.executable, "-m", "compiler.driver.verify.pycaffe_runner", prototxt, caffemodel, given,
                               taken, *outputs], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise ConversionError(f"pycaffe failed to run {prototxt} (exit {done.returncode}): {tail}")
        with np.load(taken) as loaded:
            return [loaded[f"out{i}"] for i in range(len(outputs))]


RUNTIMES = {"opencv": run_opencv, "caffe": run_pycaffe}


def runtime_names(name: str) -> list[str]:
    """`all` means every runtime; each name is checked."""
    names = list(RUNTIMES) if name == "all" else [name]
    for n in names:
        if n not in RUNTIMES:
            raise ConversionError(f"unknown runtime {n!r}", hint=f"choose one of {', '.join(RUNTIMES)} or all")
    return names


def run_runtime(name: str, prototxt: str, caffemodel: str, inputs, outputs, **options) -> list[np.ndarray]:
    if name not in RUNTIMES:
        raise ConversionError(f"unknown runtime {name!r}", hint=f"choose one of {', '.join(RUNTIMES)}")
    return RUNTIMES[name](prototxt, caffemodel, inputs, outputs, **options)
