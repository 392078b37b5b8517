"""Caffe runtimes for verification, each imported only when used."""
from __future__ import annotations

import os
import re
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
    path = os.path.join(_cache_directory(), f"pycaffe-{PYCAFFE_VERSION}-py{sys.version_info[0]}{sys.version_info[1]}", "python")
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


def run_ncnn(structure: str, weights: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    """Run ncnn's own files (the ncnn-native target's .param/.bin), or ncnn-dialect Caffe files translated by
    backends/ncnn_format.py into them (Tencent's caffe2ncnn is no package), in the ncnn runtime (the `ncnn` wheel).
    ncnn computes one sample at a time, in float32 with Winograd, SGEMM and every float16 path off; each sample's
    outputs are stacked back into a batch. `outputs` are layer names: a layer's output is its first top."""
    try:
        import ncnn
    except ImportError:
        raise ConversionError("the ncnn runtime is not installed", hint="pip install 'gluon2caffe[verify]'") from None
    from backends.ncnn_format import UnsupportedLayer, convert_files
    from backends.target import NCNN_FILES

    with tempfile.TemporaryDirectory() as directory:
        param, model = structure, weights
        if not structure.endswith(NCNN_FILES.structure):
            param, model = NCNN_FILES.paths(os.path.join(directory, "net"))
            try:
                convert_files(structure, weights, param, model)
            except UnsupportedLayer as exc:
                raise ConversionError(f"cannot run {structure} in ncnn: {exc}") from None
        layers = _ncnn_layers(param)
        net = ncnn.Net()
        for option in ("use_vulkan_compute", "use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic",
                       "use_bf16_storage", "use_winograd_convolution", "use_sgemm_convolution"):
            setattr(net.opt, option, False)
        net.opt.num_threads = 1
        if net.load_param(param) != 0 or net.load_model(model) != 0:
            raise ConversionError(f"ncnn cannot load {param} (from {structure})")
        batch = next(iter(inputs.values())).shape[0]
        samples = []
        for i in range(batch):
            extractor = net.create_extractor()
            extractor.set_light_mode(False)   # keep every blob: an output that later layers read (ICNet's) too
            for name, array in inputs.items():   # owned Mats: a layer in place on numpy memory crashes ncnn
                extractor.input(name, ncnn.Mat(np.ascontiguousarray(array[i], np.float32)).clone())
            produced = []
            for name in outputs:
                blob = layers.get(name, (None, name))[1]
                status, mat = extractor.extract(blob)
                if status != 0:
                    raise ConversionError(f"ncnn could not compute {name} ({blob}) of {structure}: status {status}")
                produced.append(np.array(mat).copy())
            samples.append(produced)
    return [_batched(layers.get(name, ("",))[0], [sample[k] for sample in samples]) for k, name in enumerate(outputs)]


def _batched(layer_type: str, per_sample: list[np.ndarray]) -> np.ndarray:
    """One output of every sample as the batch Caffe would return. ncnn leaves a detection layer's blob empty when
    it finds nothing; its rows are [label, score, box]."""
    if layer_type == "DetectionOutput":
        return _caffe_detections(per_sample)
    if layer_type == "Yolov3DetectionOutput":   # (rows, 6) of one image: the layer's only form
        return np.stack([np.asarray(rows, np.float32).reshape(-1, 6) for rows in per_sample])
    return np.stack(per_sample)


def _caffe_detections(per_sample: list[np.ndarray]) -> np.ndarray:
    """ncnn's DetectionOutput rows [label, score, box] of each sample (an empty Mat when there are none) as Caffe's
    one (1, 1, K, 7) blob of rows [image, label, score, box]."""
    rows = [np.hstack([np.full((len(found), 1), i, np.float32), found])
            for i, found in enumerate(np.asarray(d, np.float32).reshape(-1, 6) for d in per_sample)]
    return np.concatenate(rows).reshape(1, 1, -1, 7)


def _ncnn_layers(param: str) -> dict[str, tuple[str, str]]:
    """Each layer's type and first top by layer name, from an ncnn .param (a line per layer after the magic and the
    counts: type, name, bottom and top counts, the bottoms, the tops, the params)."""
    tops = {}
    with open(param, encoding="utf-8") as f:
        for line in f.read().splitlines()[2:]:
            fields = line.split()
            if len(fields) < 4:
                continue
            bottoms, top_count = int(fields[2]), int(fields[3])
            if top_count:
                tops[fields[1]] = (fields[0], fields[4 + bottoms])
    return tops


# Runtimes that compute in float16: the tolerance their comparisons use instead of the float32 one, and the cosine
# similarity each output must reach (docs/rknn.md#verification).
FLOAT16_TOLERANCE = {"rknn": (2e-2, 0.999)}

RKNN_VERSION = "2.5.0"
# A toolkit log line of a layer it cannot run ("E load_caffe:  OP in Layer NAME Current not support!!!"): it drops
# the layer, passes the data through, and its calls still succeed (docs/rknn.md#what-the-toolkit-drops). Every drop
# is an error, a Silence's included: behind a dropped Silence the toolkit returned a Slice's other part under the
# kept part's name (the rknn target writes no Silence).
RKNN_DROPPED = re.compile(r"not support", re.IGNORECASE)


def rknn_python() -> str | None:
    """The python of rknn-toolkit2's environment: $GLUON2CAFFE_RKNN_PYTHON, else where tests/runtimes/build_rknn.sh
    caches it."""
    explicit = os.environ.get("GLUON2CAFFE_RKNN_PYTHON")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    prefix = os.path.join(_cache_directory(), f"rknn-toolkit2-{RKNN_VERSION}-py311")
    path = os.path.join(prefix, "bin", "python")
    # .complete: the build script finished (an interrupted install leaves a python without the toolkit)
    return path if os.access(path, os.X_OK) and os.path.isfile(os.path.join(prefix, ".complete")) else None


def run_rknn(prototxt: str, caffemodel: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    """Run the files in rknn-toolkit2's simulator (rk3588, float16) and return the outputs named `outputs`: the
    network's outputs, which are all the toolkit returns. A layer the toolkit logs as unsupported (and drops,
    passing its input through) is an error naming it, since every number after it is wrong."""
    python = rknn_python()
    if python is None:
        raise ConversionError("rknn-toolkit2 is not available", hint="install it with tests/runtimes/build_rknn.sh, "
                                                                     "or set GLUON2CAFFE_RKNN_PYTHON to its python")
    first_tops, network_outputs = _layers_and_outputs(prototxt)
    blobs = [first_tops.get(name, name) for name in outputs]   # a layer's output is its top
    missing = [name for name, blob in zip(outputs, blobs) if blob not in network_outputs]
    if missing:
        raise ConversionError(f"rknn-toolkit2 returns only the network's outputs ({', '.join(network_outputs)}), "
                              f"not {', '.join(missing)}", hint="compare the final outputs on this runtime")
    runner = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rknn_runner.py")
    with tempfile.TemporaryDirectory() as directory:
        given, taken = os.path.join(directory, "inputs.npz"), os.path.join(directory, "outputs.npz")
        np.savez(given, **{f"in{i}": np.ascontiguousarray(v, np.float32) for i, v in enumerate(inputs.values())})
        done = subprocess.run([python, runner, prototxt, caffemodel, given, taken], capture_output=True, text=True,
                              cwd=directory)
        log = _plain(done.stdout + "\n" + done.stderr)
        dropped = [line.strip() for line in log.splitlines() if RKNN_DROPPED.search(line)]
        if dropped:
            raise ConversionError(f"rknn-toolkit2 dropped {len(dropped)} layer(s) it does not support (it passes "
                                  f"their input through): {'; '.join(dropped[:3])}",
                                  hint="convert with --target rknn, which never writes such a layer")
        if done.returncode < 0:   # a signal: SIGKILL is almost always the kernel's out-of-memory killer
            raise ConversionError(f"rknn-toolkit2 was killed by signal {-done.returncode} on {prototxt}"
                                  + (" (SIGKILL: most likely out of memory)" if -done.returncode == 9 else ""),
                                  hint="the simulator needs several times the model's activations in memory: "
                                       "try a smaller --input-shape, or a machine with more memory")
        if done.returncode != 0:
            tail = "\n".join(line for line in log.strip().splitlines()[-3:])
            raise ConversionError(f"rknn-toolkit2 failed on {prototxt} (exit {done.returncode}): {tail}")
        with np.load(taken) as loaded:
            names = [str(name) for name in loaded["names"]]
            by_blob = {name: loaded[f"out{i}"] for i, name in enumerate(names)}
    absent = [name for name, blob in zip(outputs, blobs) if blob not in by_blob]
    if absent:
        raise ConversionError(f"the model rknn-toolkit2 built does not output {', '.join(absent)} (its outputs: "
                              f"{', '.join(names)})", hint="convert with --target rknn")
    return [by_blob[blob] for blob in blobs]


def _plain(text: str) -> str:
    """The toolkit's log without its terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _layers_and_outputs(prototxt: str) -> tuple[dict[str, str], list[str]]:
    """Each layer's first top by name, and the blobs the network leaves unconsumed in the order their
    layers come: its outputs, in the order Caffe parsers (the toolkit's too) list them."""
    from google.protobuf import text_format

    from backends.schema import reader

    with open(prototxt, encoding="utf-8") as f:
        net = text_format.Parse(f.read(), reader().NetParameter(), allow_unknown_field=True)
    produced, consumed = [], set()
    for layer in net.layer:
        consumed.update(bottom for bottom in layer.bottom if bottom not in layer.top)
        produced += [top for top in layer.top if top not in layer.bottom]
    outputs = list(dict.fromkeys(top for top in produced if top not in consumed))
    return {layer.name: layer.top[0] for layer in net.layer if layer.top}, outputs


def _cache_directory() -> str:
    return os.environ.get("GLUON2CAFFE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gluon2caffe")


RUNTIMES = {"opencv": run_opencv, "caffe": run_pycaffe, "rknn": run_rknn, "ncnn": run_ncnn}


# The runtimes that run each target's files (`all` means these): pycaffe is BVLC Caffe with the caffe-ssd layers;
# ncnn's dialect (ReLU6 …) runs in OpenCV and, through backends/ncnn_format.py, in ncnn itself; the rknn target's
# files are plain BVLC Caffe that the toolkit's simulator runs too; ncnn's own files run in ncnn alone.
RUNTIMES_OF_TARGET = {"caffe": ("opencv", "caffe"), "caffe-ssd": ("opencv", "caffe"), "ncnn": ("opencv", "ncnn"),
                      "ncnn-native": ("ncnn",), "rknn": ("opencv", "caffe", "rknn")}
# Runtimes that can return any blob, not only the network's outputs (verify --per-layer needs them).
RUNTIMES_WITH_EVERY_BLOB = ("opencv", "caffe", "ncnn")
RUNTIME_CHOICES = (*RUNTIMES, "all")


def runtime_names(name: str | None, target: str | None = None) -> list[str]:
    """The runtimes `--runtime name` means for `target`'s files: None, the target's first (OpenCV for the Caffe
    targets, ncnn for ncnn-native); `all`, every runtime that runs them (every runtime when no target is given);
    else the one named, which must be able to run them."""
    if name is None:
        return list(RUNTIMES_OF_TARGET.get(target, ("opencv",)))[:1]
    names = list(RUNTIMES_OF_TARGET.get(target, RUNTIMES)) if name == "all" else [name]
    for n in names:
        if n not in RUNTIMES:
            raise ConversionError(f"unknown runtime {n!r}", hint=f"choose one of {', '.join(RUNTIMES)} or all")
        able = RUNTIMES_OF_TARGET.get(target, RUNTIMES)
        if n not in able:
            raise ConversionError(f"the {n} runtime does not run the {target} target's files",
                                  hint=f"use --runtime {' or '.join(able)}")
    return names


def run_runtime(name: str, prototxt: str, caffemodel: str, inputs, outputs, **options) -> list[np.ndarray]:
    if name not in RUNTIMES:
        raise ConversionError(f"unknown runtime {name!r}", hint=f"choose one of {', '.join(RUNTIMES)}")
    return RUNTIMES[name](prototxt, caffemodel, inputs, outputs, **options)
