"""Frontends: exported `prefix-symbol.json` + `prefix-NNNN.params` files, read without MXNet, or a live Gluon
HybridBlock, traced by MXNet into the same symbol JSON. Either way our own reader and shape rules build the IR; with
`check_mxnet` (default: the GLUON2CAFFE_CHECK_MXNET environment variable) MXNet checks every node and value too."""
from __future__ import annotations

import os

import numpy as np

from compiler.errors import BadModel
from compiler.frontend.document import SymbolDocument
from compiler.frontend.mxnet_check import checking_by_default, mxnet_message
from compiler.frontend.params import load_params
from compiler.frontend.symbol import data_inputs, import_document, load_symbol_json
from compiler.ir.graph import Graph
from compiler.ir.cycles import cyclic_gc_paused

__all__ = ["import_block", "import_files", "load_params", "normalise_input_shapes", "read_symbol_file",
           "symbol_inputs", "trace"]


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


def _mxnet_check(text: str, shapes: dict, check_mxnet: bool | None):
    """The `check` argument of import_document: MXNet's view of the same text, when checking."""
    if not (checking_by_default() if check_mxnet is None else check_mxnet):
        return None
    from compiler.frontend.mxnet_check import MXNetView

    return lambda: MXNetView.of(text, shapes)


def import_block(net, input_shape, name: str | None = None, check_mxnet: bool | None = None) -> Graph:
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
        text = trace(net, shapes).tojson()
    except (mx.base.MXNetError, AssertionError, TypeError, AttributeError, ValueError) as exc:
        message = mxnet_message(exc) if isinstance(exc, mx.base.MXNetError) else f"{type(exc).__name__}: {exc}"
        refuse_imperative_blocks(net, message)
        raise BadModel(f"the block cannot be traced symbolically ({message})",
                       hint="hybrid_forward must use only F.* operators; see Gluon's hybridize() rules") from None
    document = load_symbol_json(text, source=f"the symbol of {type(net).__name__}")
    wanted = set(document.input_names())
    # Parameters that a block owns but never reads (e.g. a classifier head the trace skips) are not part of
    # the graph; an exported params file, unlike a live block, must match its symbol exactly.
    params = {p.name: parameter_array(p.data()) for p in owned if p.name in wanted}
    return import_document(document, params, shapes, name=name or net.name,
                           check=_mxnet_check(text, shapes, check_mxnet))


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


def trace(block, input_names) -> "object":
    """The symbol a Gluon block computes on variables `input_names`."""
    import mxnet as mx

    traced = block(*[mx.sym.var(n) for n in input_names])
    return mx.sym.Group(list(traced)) if isinstance(traced, (list, tuple)) else traced


def parameter_array(array) -> np.ndarray:
    """A parameter's NDArray as a read-only NumPy array of its own. Never a view of MXNet's buffer: when MXNet runs
    the model, its oneDNN kernels reorder weight buffers in place (to a blocked layout, back only when read through
    MXNet), so a view taken at import reads other numbers after any later forward pass — which the interpreter's
    family test caught. The copy costs about 0.1 ms per MB."""
    copy = array.asnumpy()
    copy.setflags(write=False)
    return copy


def read_symbol_file(symbol_path: str) -> tuple[str, SymbolDocument]:
    """(the text, its document) of a symbol file."""
    if not os.path.isfile(symbol_path):
        raise BadModel(f"symbol file {symbol_path!r} does not exist")
    with open(symbol_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return text, load_symbol_json(text, source=os.path.basename(symbol_path))


def symbol_inputs(document: SymbolDocument, params) -> list[str]:
    """The data inputs of an exported model: the variables that are neither parameters nor training labels."""
    return data_inputs(document, params)


def import_files(symbol_path: str, params_path: str, input_shape, name: str | None = None,
                 check_mxnet: bool | None = None, mxnet_reader: bool = False) -> Graph:
    """The IR of exported files. `mxnet_reader` reads the symbol and the params through MXNet instead of our
    readers (the other side of `gluon2caffe zoo --compare-frontends`; it implies checking)."""
    with cyclic_gc_paused():   # reading allocates an object per node and field: no cyclic GC rescans meanwhile
        return _import_files(symbol_path, params_path, input_shape, name, check_mxnet, mxnet_reader)


def _import_files(symbol_path: str, params_path: str, input_shape, name: str | None, check_mxnet: bool | None,
                  mxnet_reader: bool) -> Graph:
    text, document = read_symbol_file(symbol_path)
    if mxnet_reader:
        from compiler.frontend.mxnet_check import mxnet_document, mxnet_params

        document, params, check_mxnet = mxnet_document(text, os.path.basename(symbol_path)), \
            mxnet_params(params_path), True
    else:
        params = load_params(params_path)
    data_vars = data_inputs(document, params)
    default = data_vars[0] if len(data_vars) == 1 else "data"
    shapes = normalise_input_shapes(input_shape, default_name=default)
    base = name or os.path.basename(symbol_path).removesuffix("-symbol.json").removesuffix(".json")
    return import_document(document, params, shapes, name=base, check=_mxnet_check(text, shapes, check_mxnet))
