"""Shared test helpers: build tiny MXNet graphs, convert them, run the files in OpenCV and compare with MXNet."""
from __future__ import annotations

import os

import numpy as np
from google.protobuf import text_format

from compiler.driver.api import compile_graph
from compiler.frontend.symbol import import_symbol
from compiler.options import Options
from compiler.driver.verify import DEFAULT_TOLERANCE, compare_outputs, paired_inputs, run_runtime
from compiler.driver.verify.runtimes import RUNTIMES_OF_TARGET


def random_params(symbol, input_shapes: dict, seed: int = 0, positive=("var", "gamma")) -> dict[str, np.ndarray]:
    """Random values for every argument and auxiliary state that is not an input (variances positive)."""
    rng = np.random.RandomState(seed)
    arg_shapes, _, aux_shapes = symbol.infer_shape(**input_shapes)
    params = {}
    names = symbol.list_arguments() + symbol.list_auxiliary_states()
    for name, shape in zip(names, list(arg_shapes) + list(aux_shapes)):
        if name in input_shapes or name.endswith("label"):
            continue
        if name.endswith(positive):
            params[name] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        else:
            params[name] = (rng.standard_normal(shape) * 0.5).astype(np.float32)
    return params


def mxnet_outputs(symbol, params: dict, inputs: dict) -> list[np.ndarray]:
    import mxnet as mx

    shapes = {k: v.shape for k, v in inputs.items()}
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    args = {}
    for name, shape in zip(symbol.list_arguments(), arg_shapes):
        source = inputs.get(name, params.get(name))
        args[name] = mx.nd.array(source if source is not None else np.zeros(shape, np.float32))
    aux = {name: mx.nd.array(params[name]) for name in symbol.list_auxiliary_states()}
    executor = symbol.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    return [o.asnumpy() for o in executor.forward(is_train=False)]


def strict_parse(prototxt_path: str, proto_module):
    """Parse the written prototxt against the dialect schema; unknown fields raise."""
    with open(prototxt_path, encoding="utf-8") as f:
        return text_format.Parse(f.read(), proto_module.NetParameter())


def convert_and_compare(symbol, params, input_shapes: dict, tmp_path, *, options: Options | None = None,
                        target: str = "caffe", seed: int = 1, tolerance: float = DEFAULT_TOLERANCE, name="model",
                        runtime_options=None, runtimes=None, allow_zero_reference=False,
                        interpreter_tolerance: float | None = None):
    """Convert, write, strictly re-parse, run in OpenCV (and pycaffe where built) and compare with MXNet on the same
    input — raw pixels on the Caffe side when mean/std are folded in, BGR with to_bgr; returns (compilation,
    comparisons). An approximate conversion (relu6=approx) must say so in its report, and is then not compared.
    The NumPy interpreter must give MXNet's numbers too (within `interpreter_tolerance`, INTERPRETER_TOLERANCE by
    default)."""
    options = options or Options()
    graph = import_symbol(symbol, params, input_shapes, name=name)
    graph.verify()
    compiled = compile_graph(graph, target, Options(**{**_fields(options), "check_ir": True, "check_numbers": True}))
    prefix = os.path.join(str(tmp_path), name)
    prototxt, caffemodel = compiled.save(prefix)
    if not compiled.target.files.ncnn:   # ncnn's own files are checked by loading them in ncnn below
        strict_parse(prototxt, compiled.target.proto)
    if not compiled.report.exact:
        assert options.relu6 == "approx", compiled.report.format_table()
        return compiled, []
    mxnet_inputs, caffe_inputs = paired_inputs(compiled.inputs, seed)
    reference = mxnet_outputs(symbol, params, mxnet_inputs)
    assert_interpreter_matches(import_symbol(symbol, params, input_shapes, name=name), mxnet_inputs, reference,
                               interpreter_tolerance or INTERPRETER_TOLERANCE)
    if options.softmax:
        reference = [_softmax(r) for r in reference]
    comparisons = []
    chosen = [r for r in runtimes or runtimes_for(target) if r in _runtimes_able_to_run(target)]
    assert chosen, f"none of the runtimes {runtimes} runs the {target} target's files"
    for runtime in chosen:
        extra = (runtime_options or {}) if runtime == "opencv" else {}
        actual = run_runtime(runtime, prototxt, caffemodel, caffe_inputs, compiled.output_layers, **extra)
        found = compare_outputs([v.name for v in compiled.graph.outputs], reference, actual, tolerance)
        for c in found:
            assert allow_zero_reference or c.max_abs_ref > 0, \
                f"{c.name}: the reference output is all zeros, so the comparison proves nothing"
            assert c.ok, f"{runtime}: {c}"
        comparisons += found
    return compiled, comparisons


INTERPRETER_TOLERANCE = 1e-5


def assert_interpreter_matches(graph, inputs: dict, reference: list[np.ndarray],
                               tolerance: float = INTERPRETER_TOLERANCE) -> None:
    """The NumPy interpreter of the IR as the frontend built it (the reference where MXNet is not installed) must
    give MXNet's outputs within `tolerance` of their largest value."""
    from compiler.ir.interpreter import run_graph

    interpreted = run_graph(graph, **inputs)
    for value, got, want in zip(graph.outputs, interpreted, reference):
        scale = max(float(np.abs(want).max()), 1e-30) if np.size(want) else 1.0
        error = float(np.abs(np.asarray(got, np.float64) - want).max()) / scale if np.size(want) else 0.0
        assert np.shape(got) == np.shape(want) and error <= tolerance, \
            f"interpreter vs MXNet on {value.name}: relative {error:.2e}"


def available_runtimes() -> list[str]:
    """OpenCV always; pycaffe too where it is built (CI requires it: see conftest.py)."""
    from compiler.driver.verify.runtimes import pycaffe_path

    return ["opencv", "caffe"] if pycaffe_path() else ["opencv"]


def runtimes_for(target: str) -> list[str]:
    """The reference runtimes a target's files are checked in here: the available Caffe runtimes and the real ncnn
    runtime (a test dependency), those of them that run the target's files (the ncnn dialect's through the
    project's own translation). rknn's simulator is asked for by name."""
    return [r for r in available_runtimes() + ["ncnn"] if r in _runtimes_able_to_run(target)]


def _runtimes_able_to_run(target: str) -> tuple[str, ...]:
    return RUNTIMES_OF_TARGET.get(target, RUNTIMES_OF_TARGET["caffe"])   # (a test's own Caffe target too)


def computes_samples_apart(target: str) -> bool:
    """Whether the target's consumer computes one sample at a time (ncnn), so that it refuses an op along the batch
    axis."""
    from backends import get_target

    return get_target(target).policy.samples_apart


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _fields(options: Options) -> dict:
    import attrs

    return attrs.asdict(options, recurse=False)


def layer_types(compiled) -> list[str]:
    return [layer.type for layer in compiled.layers]


def assert_zoo_model_verifies(name: str, shape, out_dir) -> dict:
    """Run the zoo sweep's worker on one model for caffe and ncnn and require every run verified at 1e-4 relative
    (caffe in each available runtime, ncnn in OpenCV); returns the worker's result."""
    from compiler.driver import sweep

    targets = ["caffe", "ncnn"]
    result = sweep.run_worker(name, targets, available_runtimes(), shape, 0, str(out_dir))
    assert result["status"] == {t: "verified" for t in targets}, result["reason"]
    assert all(error <= 1e-4 for error in result["relative"].values()), result["relative"]
    assert len(result["relative"]) == len(available_runtimes()) + 1   # ncnn files run in OpenCV
    return result


def verify_written(net, shape, prefix: str, runtime: str, target: str, seed: int = 0, **options):
    """Verify files written at PREFIX from `net` (by the seed API, say) in one runtime: they must be the bytes
    compile_model makes with these options, whose compilation then says how to check them; returns the verdict."""
    from compiler.driver.api import compile_model
    from compiler.driver.verify import verify_compilation
    from compiler.driver.verify.same_files import difference

    compiled = compile_model(net, shape, target=target, **options)
    assert difference(compiled, prefix) is None
    (verdict,) = verify_compilation(compiled, net, prefix + ".prototxt", prefix + ".caffemodel", [runtime], seed)
    return verdict


def cut_detector_run(name: str, shape, out_dir):
    """A zoo detector cut before its decoder, converted and saved; returns (its PREFIX.decode.json, the Caffe
    outputs in each available runtime on one seeded image, and GluonCV's own (ids, scores, boxes) for that image)."""
    import json

    import mxnet as mx

    from compiler.driver import zoo
    from compiler.driver.api import compile_model

    net = zoo.random_zoo_model(name, 0, shape)
    compiled = compile_model(net, shape)
    prefix = os.path.join(str(out_dir), "detector")
    prototxt, caffemodel = compiled.save(prefix)
    with open(prefix + ".decode.json", encoding="utf-8") as f:
        meta = json.load(f)
    image = np.random.RandomState(3).standard_normal(shape).astype(np.float32)
    outputs = {runtime: run_runtime(runtime, prototxt, caffemodel, {"data": image}, compiled.output_layers)
               for runtime in available_runtimes()}
    gluoncv = tuple(a.asnumpy()[0] for a in net(mx.nd.array(image)))   # the full net, decoder included
    return meta, outputs, gluoncv


def mxnet_outputs_in_a_new_process(symbol, params: dict, inputs: dict, environment: dict) -> list[np.ndarray]:
    """MXNet's outputs computed in a fresh process with extra environment variables (MXNet reads some, such as
    MXNET_MKLDNN_ENABLED, once, at its first operator call)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        np.savez(os.path.join(directory, "arrays.npz"), **{f"param:{k}": v for k, v in params.items()},
                 **{f"input:{k}": v for k, v in inputs.items()})
        with open(os.path.join(directory, "symbol.json"), "w", encoding="utf-8") as f:
            f.write(symbol.tojson())
        script = (
            "import sys, numpy as np, mxnet as mx\n"
            "from tests.helpers import mxnet_outputs\n"
            "d = sys.argv[1]\n"
            "arrays = np.load(d + '/arrays.npz')\n"
            "params = {k[6:]: arrays[k] for k in arrays.files if k.startswith('param:')}\n"
            "inputs = {k[6:]: arrays[k] for k in arrays.files if k.startswith('input:')}\n"
            "outs = mxnet_outputs(mx.sym.load(d + '/symbol.json'), params, inputs)\n"
            "np.savez(d + '/outputs.npz', *outs)\n")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run([sys.executable, "-c", script, directory], check=True, cwd=root, capture_output=True,
                       env={**os.environ, **environment, "PYTHONPATH": root})
        with np.load(os.path.join(directory, "outputs.npz")) as loaded:
            return [loaded[f"arr_{i}"] for i in range(len(loaded.files))]


def export_random_detector(name: str, shape, prefix: str, minimal_opset: bool = False) -> tuple[str, str]:
    """A zoo SSD or YOLOv3 with seeded random weights (heads tuned for separated detections), exported as a user who
    trained one has it: PREFIX-symbol.json + PREFIX-0000.params. `minimal_opset` builds the SSD box decoder as
    get_model(pretrained=True) does (a dozen elementary ops instead of box_decode)."""
    import mxnet as mx

    from compiler.driver import zoo
    from compiler.driver.families import family_named

    net = zoo.get_zoo_model(name, {}, shape)
    zoo.randomize(net, 0, shape)
    family_named(name).tune(net, 0, shape)
    if minimal_opset:
        net.bbox_decoder._minimal_opset, net.bbox_decoder._clip = True, None
    net.hybridize()
    net(mx.nd.zeros(shape))
    net.export(prefix)
    return prefix + "-symbol.json", prefix + "-0000.params"


def read_net(prototxt: str):
    """The written prototxt as a NetParameter (any dialect's fields accepted)."""
    from google.protobuf import text_format

    from backends.schema import reader

    with open(prototxt, encoding="utf-8") as f:
        return text_format.Parse(f.read(), reader().NetParameter(), allow_unknown_field=True)


def input_shapes_of(prototxt: str) -> dict[str, tuple[int, ...]]:
    return {layer.top[0]: tuple(layer.input_param.shape[0].dim) for layer in read_net(prototxt).layer
            if layer.type == "Input"}


def output_layers_of(prototxt: str) -> list[str]:
    """Layers whose top no later layer reads (Silence excluded), in file order."""
    net = read_net(prototxt)
    consumed = set()
    outputs = []
    for layer in reversed(net.layer):
        if layer.type != "Silence" and any(t not in consumed for t in layer.top):
            outputs.append(layer.name)
        consumed.update(b for b in layer.bottom)
    return list(reversed(outputs))
