"""Frontends: a live Gluon HybridBlock, or exported `prefix-symbol.json` + `prefix-NNNN.params` files."""
from __future__ import annotations

import os

import numpy as np

from compiler.errors import BadModel, ParamError
from compiler.frontend.symbol import data_inputs, import_symbol, load_symbol_json, mxnet_message
from compiler.ir.graph import Graph


def normalise_input_shapes(input_shape, default_name: str = "data") -> dict[str, tuple[int, ...]]:
    """Accept (N,C,H,W), [(…), (…)] or {name: (…)} and return {name: shape}."""
    if isinstance(input_shape, dict):
        return {str(k): tuple(int(d) for d in v) for k, v in input_shape.items()}
    shape = tuple(input_shape)
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        if len(shape) == 1:
            return {default_name: tuple(int(d) for d in shape[0])}
        return {f"{default_name}{i}": tuple(int(d) for d in s) for i, s in enumerate(shape)}
    return {default_name: tuple(int(d) for d in shape)}


def import_block(net, input_shape, name: str | None = None) -> Graph:
    """Trace a Gluon HybridBlock symbolically and bind its parameters by variable."""
    import mxnet as mx

    shapes = normalise_input_shapes(input_shape)
    if not isinstance(net, mx.gluon.HybridBlock):
        raise BadModel(f"{type(net).__name__} is not a HybridBlock, so it has no symbolic graph",
                       hint="build the model from HybridBlocks (nn.HybridSequential, HybridBlock)")
    owned = owned_parameters(net)
    if any(p._deferred_init for p in owned):
        try:
            net(*[mx.nd.zeros(s) for s in shapes.values()])   # finishes deferred initialisation
        except mx.base.MXNetError as exc:
            raise BadModel(f"running the block on inputs {shapes} failed: {mxnet_message(exc)}",
                           hint="check the input shape and that the parameters are initialised") from None
    try:
        symbol = trace(net, shapes, canonical_form=False)   # import_symbol makes it canonical
    except (mx.base.MXNetError, AssertionError, TypeError, AttributeError, ValueError) as exc:
        message = mxnet_message(exc) if isinstance(exc, mx.base.MXNetError) else f"{type(exc).__name__}: {exc}"
        refuse_imperative_blocks(net, message)
        raise BadModel(f"the block cannot be traced symbolically ({message})",
                       hint="hybrid_forward must use only F.* operators; see Gluon's hybridize() rules") from None
    wanted = set(symbol.list_arguments()) | set(symbol.list_auxiliary_states())
    # Parameters that a block owns but never reads (e.g. a classifier head the trace skips) are not part of
    # the graph; an exported params file, unlike a live block, must match its symbol exactly.
    params = {p.name: numpy_view(p.data()) for p in owned if p.name in wanted}
    return import_symbol(symbol, params, shapes, name=name or net.name)


def owned_parameters(net) -> list:
    """Every Parameter of the block and its children: what collect_params() returns, gathered in one walk over
    the blocks (collect_params merges a dict per level, which cost 14 ms of a 120 ms ResNet-50 conversion)."""
    found = {}

    def visit(block):
        for parameter in block.params.values():
            found.setdefault(parameter.name, parameter)
    net.apply(visit)
    return list(found.values())


# Blocks known to be imperative-only (GluonCV's GroupNorm reshapes with x.shape and positional arguments).
_IMPERATIVE_ONLY = {("gluoncv.nn.gn", "GroupNorm")}


def refuse_imperative_blocks(net, detail: str = "") -> None:
    """BadModel naming the first block known to have no symbolic form, if the net has one."""
    found = []

    def visit(block):
        kind = type(block)
        if (kind.__module__, kind.__name__) in _IMPERATIVE_ONLY:
            found.append(f"{kind.__module__}.{kind.__name__} '{block.name}'")
    net.apply(visit)
    if found:
        raise BadModel(f"the block cannot be traced symbolically: {found[0]} computes with NDArray-only calls "
                       "(x.shape, positional reshape) in hybrid_forward" + (f" ({detail})" if detail else ""),
                       hint="such a block has no symbol graph to convert; replace it by a hybridizable one")


def trace(block, input_names, canonical_form: bool = True) -> "object":
    """The symbol a Gluon block computes on variables `input_names`, as its JSON describes it (see canonical;
    canonical_form=False leaves that to the caller)."""
    import mxnet as mx

    from compiler.frontend.symbol import canonical

    traced = block(*[mx.sym.var(n) for n in input_names])
    symbol = mx.sym.Group(list(traced)) if isinstance(traced, (list, tuple)) else traced
    return canonical(symbol) if canonical_form else symbol


def load_params(path: str) -> dict[str, np.ndarray]:
    """Read an `mx.nd.save` params file (`arg:`/`aux:` keys or plain parameter names)."""
    import mxnet as mx

    if not os.path.isfile(path):
        raise ParamError(f"params file {path!r} does not exist", hint="pass --params PREFIX-0000.params")
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError as exc:
        raise ParamError(f"params file {path!r} cannot be read (truncated or not an MXNet params file): "
                         f"{mxnet_message(exc)}") from None
    if not isinstance(loaded, dict):
        raise ParamError(f"params file {path!r} holds an unnamed list of arrays",
                         hint="save with HybridBlock.export() so every array has its name")
    params = {}
    for key, array in loaded.items():
        name = key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key
        params[name] = numpy_view(array)
    return params


def numpy_view(array) -> np.ndarray:
    """An MXNet NDArray as NumPy without a copy where its memory allows (a dense float32 array on the CPU): a
    read-only view of MXNet's own buffer that keeps the NDArray alive. Anything else is copied out (asnumpy).
    Pulling a VGG-16 out with asnumpy took 2.4 s and a second copy of its 553 MB of weights."""
    import ctypes

    import mxnet as mx

    if array.stype != "default" or array.dtype != np.float32 or array.context.device_type != "cpu" or not array.size:
        return array.asnumpy()
    array.wait_to_read()
    pointer = ctypes.c_void_p()
    mx.base.check_call(mx.base._LIB.MXNDArrayGetData(array.handle, ctypes.byref(pointer)))
    memory = (ctypes.c_float * array.size).from_address(pointer.value)
    memory.owner = array   # the view's base chain ends here: MXNet frees the buffer only after the view is gone
    view = np.frombuffer(memory, dtype=np.float32).reshape(array.shape)
    view.setflags(write=False)
    return view


def import_files(symbol_path: str, params_path: str, input_shape, name: str | None = None) -> Graph:
    if not os.path.isfile(symbol_path):
        raise BadModel(f"symbol file {symbol_path!r} does not exist")
    with open(symbol_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    symbol = load_symbol_json(text, source=os.path.basename(symbol_path))
    params = load_params(params_path)
    data_vars = data_inputs(symbol, params)
    default = data_vars[0] if len(data_vars) == 1 else "data"
    shapes = normalise_input_shapes(input_shape, default_name=default)
    base = name or os.path.basename(symbol_path).removesuffix("-symbol.json").removesuffix(".json")
    return import_symbol(symbol, params, shapes, name=base)
