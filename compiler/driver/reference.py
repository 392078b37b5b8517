"""MXNet-side references for verification: a loaded symbol+params model, and running any model on inputs."""
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

    @classmethod
    def load(cls, symbol_path: str, params_path: str) -> "SymbolModel":
        import mxnet as mx

        from compiler.frontend import load_params
        from compiler.frontend.symbol import data_inputs, label_variables, load_symbol_json

        with open(symbol_path, encoding="utf-8", errors="replace") as f:
            symbol = load_symbol_json(f.read(), source=symbol_path)
        _use_native_kernels_if_needed(symbol)
        params = load_params(params_path)
        names = data_inputs(symbol, params)
        labels = sorted(label_variables(symbol) - set(params))
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


def _use_native_kernels_if_needed(symbol) -> None:
    """MXNet's oneDNN kernel cannot run a Deconvolution with target_shape ("could not create a descriptor for a
    dilated deconvolution"); its own kernels can. MXNet reads MXNET_MKLDNN_ENABLED at its first operator call, so
    this is set (unless the user set it) before the reference runs anything (docs/mxnet.md#deconvolution)."""
    import json
    import os

    nodes = json.loads(symbol.tojson())["nodes"]
    if any(n["op"] == "Deconvolution" and (n.get("attrs") or {}).get("target_shape", "()") not in ("()", "[]")
           for n in nodes):
        os.environ.setdefault("MXNET_MKLDNN_ENABLED", "0")


def run_mxnet(model, inputs: dict[str, np.ndarray], softmax: bool = False) -> list[np.ndarray]:
    """The model's outputs on `inputs` in MXNet; MXNet failing to run it is a clear error, not a traceback."""
    import mxnet as mx

    try:
        out = model(*[mx.nd.array(a) for a in inputs.values()])
        mx.nd.waitall()
    except mx.base.MXNetError as exc:
        from compiler.frontend.symbol import mxnet_message

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


def mxnet_internals(model, inputs: dict, names: list[str]) -> list[np.ndarray]:
    """Values of internal outputs of a Gluon block or SymbolModel on `inputs`, by node name (`conv0_fwd`) or
    internal output name (`conv0_fwd_output`, `act_output1`)."""
    import mxnet as mx

    from compiler.frontend import trace

    block = model
    if isinstance(model, SymbolModel):
        inputs, block = model.with_labels(inputs), model.block
    internals = trace(block, inputs).get_internals()
    outputs = internals.list_outputs()
    taps = [internals[outputs.index(name if name in outputs else f"{name}_output")] for name in names]
    tapped = symbol_block(taps, list(inputs), block.collect_params())
    values = tapped(*[mx.nd.array(a) for a in inputs.values()])
    return [v.asnumpy() for v in (values if isinstance(values, (list, tuple)) else [values])]
