"""The references verification compares with: MXNet itself (a Gluon block, or exported files loaded by MXNet's
SymbolBlock), or, where MXNet is not installed, the NumPy interpreter of the IR as the frontend builds it from the
same files (compiler/ir/interpreter.py; CI checks it against MXNet on every op and one model per family)."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.errors import BadModel


@attrs.define
class SymbolModel:
    """An exported model, run through MXNet's own SymbolBlock. Label variables of training heads
    (SoftmaxOutput's `softmax_label`) are no inputs: they get zeros, which inference never reads."""
    block: object
    input_names: list[str]
    symbol: object = None
    label_names: list[str] = attrs.field(factory=list)

    @property
    def default_input(self) -> str:
        return self.input_names[0] if len(self.input_names) == 1 else "data"

    description = "MXNet"

    @classmethod
    def load(cls, symbol_path: str, params_path: str) -> "SymbolModel":
        import mxnet as mx

        from compiler.frontend import load_params, read_symbol_file
        from compiler.frontend.mxnet_check import mxnet_symbol
        from compiler.frontend.symbol import data_inputs, label_variables

        text, document = read_symbol_file(symbol_path)
        _use_native_kernels_if_needed(document)
        symbol = mxnet_symbol(text, symbol_path)
        params = load_params(params_path)
        names = data_inputs(document, params)
        labels = sorted(label_variables(document) - set(params))
        try:
            block = symbol_block(symbol, names + labels)
            block.collect_params().load(params_path, ctx=mx.cpu(), ignore_extra=True)
        except (mx.base.MXNetError, AssertionError, ValueError) as exc:
            raise BadModel(f"MXNet cannot run {symbol_path} with {params_path}: {str(exc).splitlines()[0]}") from None
        return cls(block, names, symbol, labels)

    def with_labels(self, inputs: dict) -> dict:
        """`inputs` (data by name) with zero arrays for the label variables, shaped as MXNet infers them."""
        if not self.label_names:
            return dict(inputs)
        shapes, _, _ = self.symbol.infer_shape_partial(**{k: np.shape(v) for k, v in inputs.items()})
        by_name = dict(zip(self.symbol.list_arguments(), shapes))
        return {**inputs, **{name: np.zeros(by_name[name], np.float32) for name in self.label_names}}

    def __call__(self, *arrays):
        import mxnet as mx

        if not self.label_names:
            return self.block(*arrays)
        inputs = self.with_labels({n: a.asnumpy() if isinstance(a, mx.nd.NDArray) else a
                                   for n, a in zip(self.input_names, arrays)})
        return self.block(*[mx.nd.array(a) for a in inputs.values()])


def _use_native_kernels_if_needed(document) -> None:
    """MXNet's oneDNN kernel cannot run a Deconvolution with target_shape ("could not create a descriptor for a
    dilated deconvolution"); its own kernels can. MXNet reads MXNET_MKLDNN_ENABLED at its first operator call, so
    this is set (unless the user set it) before the reference runs anything (docs/mxnet.md#deconvolution)."""
    import os

    if any(n.op == "Deconvolution" and n.attrs.get("target_shape", "()") not in ("()", "[]") for n in document.nodes):
        os.environ.setdefault("MXNET_MKLDNN_ENABLED", "0")


@attrs.define
class InterpreterModel:
    """Exported files as the NumPy interpreter runs them: the IR our frontend builds from them, before any pass."""
    symbol_path: str
    params_path: str
    input_names: list[str]
    _graphs: dict = attrs.field(factory=dict)   # input shapes -> the imported graph

    description = "NumPy interpreter of the MXNet graph, checked against MXNet in CI"

    @classmethod
    def load(cls, symbol_path: str, params_path: str) -> "InterpreterModel":
        from compiler.frontend import load_params, read_symbol_file
        from compiler.frontend.symbol import data_inputs

        _, document = read_symbol_file(symbol_path)
        return cls(symbol_path, params_path, data_inputs(document, load_params(params_path)))

    @property
    def default_input(self) -> str:
        return self.input_names[0] if len(self.input_names) == 1 else "data"

    def graph(self, inputs: dict):
        from compiler.frontend import import_files

        key = tuple((name, np.shape(array)) for name, array in inputs.items())
        if key not in self._graphs:
            self._graphs[key] = import_files(self.symbol_path, self.params_path,
                                             {name: shape for name, shape in key}, check_mxnet=False)
        return self._graphs[key]

    def run(self, inputs: dict, entries=()) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(the outputs, the values of MXNet node outputs `entries` — Entry or node names) on `inputs`."""
        from compiler.ir.graph import Entry
        from compiler.ir.interpreter import Interpreter

        graph = self.graph(inputs)
        interpreter = Interpreter(graph)
        outputs = interpreter.run(**inputs)
        wanted = [e if isinstance(e, Entry) else Entry(e) for e in entries]
        by_entry = {v.ref: v for v in graph.values() if v.ref is not None}
        missing = [str(e) for e in wanted if e not in by_entry]
        if missing:
            raise BadModel(f"the interpreter has no value for {', '.join(missing)}")
        return outputs, [interpreter.value(by_entry[e]) for e in wanted]


def reference_description(model) -> str:
    """What the Caffe outputs are compared with, as `--verify` prints it."""
    return model.description if isinstance(model, InterpreterModel) else "MXNet"


def run_mxnet(model, inputs: dict[str, np.ndarray], softmax: bool = False) -> list[np.ndarray]:
    """The model's outputs on `inputs` in MXNet (or the interpreter, for an InterpreterModel); MXNet failing to run
    it is a clear error, not a traceback."""
    if isinstance(model, InterpreterModel):
        outs = model.run(inputs)[0]
        return [_softmax(o) for o in outs] if softmax else outs
    import mxnet as mx

    try:
        out = model(*[mx.nd.array(a) for a in inputs.values()])
        mx.nd.waitall()
    except mx.base.MXNetError as exc:
        from compiler.frontend.mxnet_check import mxnet_message

        raise BadModel(f"MXNet itself cannot run the model for verification: {mxnet_message(exc)}",
                       hint="MXNet's oneDNN kernels fail on a few valid graphs (a Deconvolution with target_shape): "
                            "set MXNET_MKLDNN_ENABLED=0 before the first MXNet call") from None
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if softmax:
        outs = [mx.nd.softmax(o, axis=1) for o in outs]
    return [o.asnumpy() for o in outs]


def symbol_block(outputs, input_names, params=None):
    """A Gluon block running `outputs`; MXNet warns that it cannot type float32 inputs it has no value for yet,
    which says nothing about the model, so that warning is silenced here."""
    import warnings

    import mxnet as mx

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot decide type for the following arguments")
        return mx.gluon.SymbolBlock(outputs, [mx.sym.var(n) for n in input_names], params=params)


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def mxnet_internals(model, inputs: dict, names: list) -> list[np.ndarray]:
    """Values of internal outputs of a Gluon block, SymbolModel or InterpreterModel on `inputs`, by MXNet node
    output (compiler.ir.graph.Entry, what IR values record) or node name (`conv0_fwd`, its first output)."""
    if isinstance(model, InterpreterModel):
        return model.run(inputs, names)[1]
    import json

    import mxnet as mx

    from compiler.frontend import trace
    from compiler.frontend.mxnet_check import internal_entries
    from compiler.ir.graph import Entry, name_occurrences

    block = model
    if isinstance(model, SymbolModel):
        inputs, block = model.with_labels(inputs), model.block
    symbol = mx.sym.load_json(trace(block, inputs).tojson())   # as its JSON says (tracing may add nodes it drops)
    internals = symbol.get_internals()
    nodes = json.loads(symbol.tojson())["nodes"]
    occurrences = name_occurrences(node["name"] for node in nodes)
    positions = {Entry(nodes[index]["name"], output, occurrences[index]): position
                 for (index, output), position in internal_entries(internals, nodes).items()}
    wanted = [e if isinstance(e, Entry) else Entry(e) for e in names]
    missing = [str(e) for e in wanted if e not in positions]
    if missing:
        raise BadModel(f"MXNet's graph has no output {', '.join(missing)}")
    taps = [internals[positions[entry]] for entry in wanted]
    tapped = symbol_block(taps, list(inputs), block.collect_params())
    values = tapped(*[mx.nd.array(a) for a in inputs.values()])
    return [v.asnumpy() for v in (values if isinstance(values, (list, tuple)) else [values])]
