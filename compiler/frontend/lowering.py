"""MXNet op name → IR builder. An MXNet name has exactly one claim (compiler/ir/opdef.py: MXNET_CLAIMS): an op
definition's `mxnet=` names lower to that op with the node's attributes as its fields; a composite (a builder in
compiler/frontend/composites/) lowers the names it claims to the IR ops it declares building. Every builder declares
the attributes it reads, as an attrs class parsed like an op's fields, so an attribute nobody reads is an error
naming it."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

import attrs

from compiler.errors import UnsupportedOp
from compiler.frontend.attr_parser import build_attrs
from compiler.ir.graph import Graph, Origin, Value
from compiler.ir.opdef import MXNET_CLAIMS, REGISTRY, claim_mxnet_name


@attrs.frozen(kw_only=True)
class NoAttributes:
    """A node that takes no attributes."""


@attrs.define
class NodeContext:
    """One MXNet node being lowered: its attributes (raw, and parsed into the builder's declared class) and operand
    values; `check_mxnet` asks builders that derive constants from MXNet's formulas to compare them with MXNet."""
    graph: Graph
    name: str
    op: str
    raw_attrs: dict
    operands: list[Value]
    origin: Origin
    check_mxnet: bool = False
    attributes: object = None

    def parse(self, cls, ignored=frozenset()):
        return build_attrs(cls, self.raw_attrs, ignored=ignored, node=self.name, op=self.op)

    def add(self, op_attrs, *operands: Value, suffix: str = "") -> Value:
        return self.graph.add(op_attrs, *operands, name=self.name + suffix, origin=self.origin).result

    def unsupported(self, message: str, attribute: str | None = None, hint: str | None = None) -> UnsupportedOp:
        return UnsupportedOp(message, node=self.name, op=self.op, attribute=attribute, hint=hint)


Builder = Callable[[NodeContext], "Value | list[Value]"]


@attrs.frozen
class Composite:
    """A builder for MXNet nodes whose attributes or outputs differ from any one op definition's."""
    names: tuple[str, ...]
    builder: Builder
    builds: tuple[type, ...]            # the IR op classes it may make
    attributes: type                    # the attrs class its node's attributes parse into
    ignored: frozenset[str]             # attributes that change nothing at inference (accepted, not read)
    training_only: frozenset[int]       # operands that only feed a training loss (labels): never bound

    def lower(self, ctx: NodeContext):
        ctx.attributes = ctx.parse(self.attributes, self.ignored)
        return self.builder(ctx)


COMPOSITES: dict[str, Composite] = {}


def composite(*mxnet_names: str, builds: tuple[type, ...], attributes: type = NoAttributes, ignored=(),
              training_only=()):
    """Register a composite builder for `mxnet_names` (each claimed once, against op definitions too)."""
    def register(builder: Builder) -> Builder:
        attrs.resolve_types(attributes)
        entry = Composite(tuple(mxnet_names), builder, tuple(builds), attributes, frozenset(ignored),
                          frozenset(training_only))
        for name in mxnet_names:
            claim_mxnet_name(name, f"the composite {builder.__name__}")
            COMPOSITES[name] = entry
        return builder
    return register


_DIRECT: dict[str, Builder] = {}   # op kind -> its direct builder, made once


def _direct(kind: str) -> Builder:
    if kind not in _DIRECT:
        definition = REGISTRY[kind]

        def build(ctx: NodeContext) -> Value:
            return ctx.add(ctx.parse(definition.cls, definition.ignored), *ctx.operands)
        _DIRECT[kind] = build
    return _DIRECT[kind]


def builder_for(mxnet_op: str) -> Builder | None:
    if mxnet_op in COMPOSITES:
        return COMPOSITES[mxnet_op].lower
    claimant = MXNET_CLAIMS.get(mxnet_op)
    return _direct(claimant) if claimant in REGISTRY else None


def training_only_operands(mxnet_op: str) -> frozenset[int]:
    """Operands of an MXNet op that only feed a training loss (SoftmaxOutput's label): never read at inference."""
    entry = COMPOSITES.get(mxnet_op)
    return entry.training_only if entry is not None else frozenset()


def supported_ops() -> list[str]:
    return sorted(MXNET_CLAIMS)


def mxnet_names_of(kind: str) -> list[str]:
    """Every MXNet op name that the frontend lowers to (among others) IR op `kind`."""
    names = set(REGISTRY[kind].mxnet) if kind in REGISTRY else set()
    names |= {name for name, entry in COMPOSITES.items() if any(c.__name__ == kind for c in entry.builds)}
    return sorted(names)



# Every module of compiler/frontend/composites registers its builders on import; they need the names above, so they
# come last.
def _import_composites() -> None:
    import compiler.frontend.composites as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


_import_composites()
