"""MXNet as a second opinion on the frontend (docs/architecture.md#two-frontends): where MXNet is installed, it reads
the same symbol text, and its loader and shape inference must agree with ours on every node and value.

The frontend never needs this module; tests and CI turn it on (GLUON2CAFFE_CHECK_MXNET=1, or `check_mxnet=True`),
and `gluon2caffe zoo --compare-frontends` converts each model both ways and compares the files."""
from __future__ import annotations

import os

import attrs
import numpy as np

from compiler.errors import BadModel, ShapeMismatch
from compiler.frontend.document import SymbolDocument, parse_symbol_json

CHECK_ENVIRONMENT = "GLUON2CAFFE_CHECK_MXNET"


def checking_by_default() -> bool:
    """Whether conversions check against MXNet when the caller does not say (the environment decides)."""
    return os.environ.get(CHECK_ENVIRONMENT, "") not in ("", "0")


def mxnet_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("mxnet") is not None


def mxnet_message(exc: Exception) -> str:
    """The informative line of an MXNet error (its text starts with a C++ traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Traceback", "File ", "[bt]", "Stack trace"))]
    text = (useful or lines or [type(exc).__name__])[-1]
    text = text.split("] ", 1)[-1] if text.startswith("[") else text
    return text.removeprefix("MXNetError: ")


def mxnet_symbol(text: str, source: str = "symbol JSON"):
    """MXNet's own reading of a symbol file (it upgrades old formats itself)."""
    import mxnet as mx

    try:
        return mx.sym.load_json(text)
    except mx.base.MXNetError as exc:
        raise BadModel(f"MXNet cannot load {source}: {mxnet_message(exc)}",
                       hint="fix the node the message names, or re-export the model") from None


def mxnet_document(text: str, source: str = "symbol JSON") -> SymbolDocument:
    """The document as MXNet reads and re-serialises it: the reference for our reader's upgrades."""
    return parse_symbol_json(mxnet_symbol(text, source).tojson(), source)


def internal_entries(internals, nodes: list) -> dict[tuple[int, int], int]:
    """Position in `internals.list_outputs()` of every visible output, keyed by (node index, output index); `nodes`
    are the symbol's nodes in its own order (SymbolNode or JSON dicts).

    Names are not unique keys (docs/mxnet.md#symbol-json), so the walk follows the node order: a node's visible outputs
    are the consecutive names it owns (`conv_output`, `act_output`, `act_mask`); when the next node's longer name
    also matches, the name is the next node's.
    """
    names = internals.list_outputs()
    plain = [(n["name"], n["op"]) if isinstance(n, dict) else (n.name, n.op) for n in nodes]

    def owns(node_index: int, name: str) -> bool:
        node_name, op = plain[node_index]
        return name == node_name if op == "null" else name.startswith(node_name + "_")

    entries: dict[tuple[int, int], int] = {}
    cursor = 0
    for index, (node_name, op) in enumerate(plain):
        out = 0
        while cursor < len(names) and owns(index, names[cursor]) and not (
                index + 1 < len(plain) and len(plain[index + 1][0]) > len(node_name) and owns(index + 1, names[cursor])):
            entries[(index, out)] = cursor
            cursor += 1
            out += 1
            if op == "null":
                break
    if cursor != len(names):
        raise BadModel("the symbol's internal outputs do not follow its node list; re-export the model")
    return entries


@attrs.frozen
class MXNetView:
    """What MXNet makes of one symbol text at given input shapes: its document and every visible value's shape."""
    document: SymbolDocument
    shapes: dict          # (node index, output index) -> shape
    symbol: object        # the loaded MXNet symbol

    @classmethod
    def of(cls, text: str, input_shapes: dict, source: str = "symbol JSON") -> "MXNetView":
        import mxnet as mx

        symbol = mxnet_symbol(text, source)
        document = parse_symbol_json(symbol.tojson(), source)
        internals = symbol.get_internals()
        try:
            _, out_shapes, _ = internals.infer_shape(**input_shapes)
        except mx.base.MXNetError as exc:
            raise ShapeMismatch(f"MXNet's shape inference fails on inputs {input_shapes} where ours succeeded: "
                                f"{mxnet_message(exc)}", hint="this is a converter bug; please report it") from None
        if out_shapes is None:
            raise ShapeMismatch(f"MXNet cannot infer every shape from inputs {input_shapes}, ours did",
                                hint="this is a converter bug; please report it")
        shapes = {key: tuple(out_shapes[position]) for key, position in internal_entries(internals, document.nodes).items()}
        return cls(document, shapes, symbol)

    def check_document(self, ours: SymbolDocument) -> None:
        """Our reader's upgrades and order must give MXNet's document, node for node."""
        if len(ours.nodes) != len(self.document.nodes) or ours.heads != self.document.heads:
            raise BadModel(f"our reader finds {len(ours.nodes)} nodes and outputs {list(ours.heads)}, MXNet "
                           f"{len(self.document.nodes)} and {list(self.document.heads)}",
                           hint="this is a converter bug; please report it with the symbol file")
        for index, (mine, theirs) in enumerate(zip(ours.nodes, self.document.nodes)):
            if mine != theirs:
                raise BadModel(f"node {index} reads as {mine}, MXNet reads {theirs}", node=mine.name, op=mine.op,
                               hint="this is a converter bug; please report it with the symbol file")

    def check_values(self, values: dict, bound: dict) -> None:
        """Our shape of every value (keyed like `shapes`) and of every bound parameter (name -> (key, array))
        must be MXNet's."""
        for key, value in values.items():
            expected = self.shapes.get(key)
            if expected is not None and value.type.shape != expected:
                node = self.document.nodes[key[0]]
                raise ShapeMismatch(f"our shape rule gives {value.type.shape}, MXNet infers {expected}",
                                    node=node.name, op=node.op, hint="this is a converter bug; please report it")
        for name, (key, array) in bound.items():
            expected = self.shapes.get(key)
            if expected is not None and tuple(np.shape(array)) != expected:
                from compiler.errors import ParamError

                raise ParamError(f"parameter '{name}' has shape {tuple(np.shape(array))}, the graph needs {expected} "
                                 "(MXNet's shape inference)", hint="the params file does not match the symbol")


def traced_json(block, input_names) -> str:
    """The symbol JSON of a Gluon block traced on variables `input_names`."""
    import mxnet as mx

    traced = block(*[mx.sym.var(n) for n in input_names])
    symbol = mx.sym.Group(list(traced)) if isinstance(traced, (list, tuple)) else traced
    return symbol.tojson()


def mxnet_params(path: str) -> dict[str, np.ndarray]:
    """A params file as MXNet itself reads it (the MXNet path of `--compare-frontends`)."""
    import mxnet as mx

    from compiler.errors import ParamError

    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError as exc:
        raise ParamError(f"params file {path!r} cannot be read: {mxnet_message(exc)}") from None
    if not isinstance(loaded, dict):
        raise ParamError(f"params file {path!r} holds an unnamed list of arrays")
    return {key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key: array.asnumpy().astype(np.float32)
            for key, array in loaded.items()}

