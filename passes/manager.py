"""Pass infrastructure: each pass declares its contract, the ops it reads and adds and its place in the order
(`@compiler_pass`); a context carries the target and records skips and approximations; a pipeline times every pass,
checks that it added only the op kinds it declared, and reports what it did."""
from __future__ import annotations

import json
import os
import time
from typing import Callable, Protocol

import attrs

from compiler.contract import BoxesEnding, DetectionEnding, InputContract
from compiler.errors import ConversionError, PassFailed
from compiler.ir.cycles import cyclic_gc_paused
from compiler.ir.opdef import REGISTRY, Trait
from compiler.options import Options
from compiler.policy import TargetPolicy


@attrs.frozen
class PassResult:
    rewrites: int = 0


@attrs.frozen
class Contract:
    """What a pass promises, for people (its docstring and the op table are made from it) and for the pipeline."""
    pattern: str                  # what it matches
    emits: str                    # what it puts in its place
    exact: str                    # whether the result computes the same numbers, and where rounding differs
    skips: str | None = None      # what it leaves alone and who reports it


def _sentence(text: str) -> str:
    return " ".join(text.split())


def compiler_pass(*, rewrites=(), within=(), produces=(), needs_layers=(), pattern: str, emits: str, exact: str,
                  skips: str | None = None, after: dict[str, str] | None = None,
                  before: dict[str, str] | None = None):
    """Declare a pass: `rewrites` are the op classes (or Traits) whose ops it rewrites wherever they occur, `within`
    the classes it rewrites only as part of a larger pattern, `produces` the op classes it may add (the pipeline
    refuses any other), `needs_layers` the layer types a target must have for it to act; its contract (pattern,
    emits, exact, skips); and its place: `after` and `before` map other passes to the reason this one must run after
    (before) them, which the pipeline checks against its order."""
    def mark(function):
        contract = Contract(_sentence(pattern), _sentence(emits), _sentence(exact),
                            _sentence(skips) if skips else None)
        function.declaration = Declaration(tuple(rewrites), tuple(within), tuple(produces), frozenset(needs_layers),
                                           contract, dict(after or {}), dict(before or {}))
        function.__doc__ = "\n".join(f"{label}: {text}" for label, text in (
            ("Pattern", contract.pattern), ("Emits", contract.emits), ("Exact", contract.exact),
            ("Skips", contract.skips)) if text)
        return function
    return mark


@attrs.frozen
class Declaration:
    rewrites: tuple
    within: tuple
    produces: tuple
    needs_layers: frozenset
    contract: Contract
    after: dict
    before: dict


class TargetView(Protocol):
    """What passes read of a backends.Target (they never import the backends): its layer types, its policy, and
    whether its Permute computes an order."""
    name: str
    layers: frozenset[str]
    policy: TargetPolicy

    def can_permute(self, order) -> bool: ...


@attrs.define
class PassContext:
    options: Options
    target: TargetView
    # What each graph input takes, relative to the MXNet input (compiler/contract.py): the passes that change an
    # input record it with record_input.
    inputs: dict[str, InputContract] = attrs.field(factory=dict)
    skipped: list[tuple[str, str]] = attrs.field(factory=list)
    approximations: list[tuple[str, str]] = attrs.field(factory=list)
    warnings: list[tuple[str, str]] = attrs.field(factory=list)
    # What the application does after the model, when a pass ends it before a step no layer computes (the IR
    # values it names become layer names once the layers exist): PREFIX.decode.json
    decode: dict | None = None
    # Set by a pass that ends the graph in DetectionOutput rows equal to the MXNet model's detections.
    detections: DetectionEnding | None = None
    # Set by a pass that ends the graph in boxes and scores for the application's NMS, where MXNet has them.
    boxes: BoxesEnding | None = None

    @property
    def layers(self) -> frozenset:
        """The target's layer types: passes choose native layers from them (its policy is ctx.target.policy)."""
        return self.target.layers

    def skip(self, op, reason: str) -> None:
        self.skipped.append((op.name, reason))

    def approximated(self, op, what: str) -> None:
        self.approximations.append((op.name, what))

    def warn(self, op, message: str) -> None:
        self.warnings.append((op.name if op is not None else "-", message))

    def record_input(self, value, **changes) -> None:
        """Record how graph input `value` now relates to the MXNet input (InputContract fields)."""
        current = self.inputs.get(value.name) or InputContract(name=value.name, mxnet_shape=tuple(value.type.shape))
        self.inputs[value.name] = attrs.evolve(current, **changes)


@attrs.frozen
class Pass:
    name: str
    function: Callable
    contract: Contract | None          # None: a caller's own extra pass, undeclared
    rewrites: tuple = ()
    produces: tuple | None = ()        # None: an undeclared extra pass, unchecked
    within: tuple = ()
    needs_layers: frozenset = frozenset()
    after: dict = attrs.field(factory=dict)    # pass name -> why this one runs after it
    before: dict = attrs.field(factory=dict)   # pass name -> why this one runs before it

    @classmethod
    def from_function(cls, function: Callable, *, declared: bool = True) -> "Pass":
        """`declared=False` (a caller's own extra pass) lets a pass without @compiler_pass add any op kind."""
        declaration = getattr(function, "declaration", None)
        if declaration is None:
            if declared:
                raise TypeError(f"pass {function.__name__} is not declared with @compiler_pass")
            return cls(function.__name__, function, None, produces=None)
        return cls(function.__name__, function, declaration.contract, declaration.rewrites, declaration.produces,
                   declaration.within, declaration.needs_layers, declaration.after, declaration.before)

    def acts_on(self, target) -> bool:
        """Whether the target has the layers this pass needs."""
        return self.needs_layers <= target.layers

    @property
    def produced_kinds(self) -> frozenset[str] | None:
        return None if self.produces is None else frozenset(c.__name__ for c in self.produces)

    def may_add(self, kind: str) -> bool:
        """Whether the pass may add an op of this kind: one it declares producing, or one it matches (rebuilding a
        matched op, e.g. on reshaped operands, adds nothing new)."""
        if self.produces is None or kind in self.produced_kinds:
            return True
        definition = REGISTRY.get(kind)
        if definition is None:
            return False
        return any(issubclass(definition.cls, m) if isinstance(m, type) else
                   isinstance(m, Trait) and definition.has(m) for m in self.rewrites)

    def __call__(self, graph, ctx: PassContext) -> PassResult:
        return self.function(graph, ctx)


def ordering_problems(passes) -> list[str]:
    """Every `after`/`before` declaration that the order of `passes` breaks, or that names an unknown pass."""
    position = {p.name: i for i, p in enumerate(passes)}
    found = []
    for p in passes:
        for other, reason in p.after.items():
            if other not in position:
                found.append(f"{p.name} runs after {other}, which is not a pass ({reason})")
            elif position[other] > position[p.name]:
                found.append(f"{p.name} must run after {other}: {reason}")
        for other, reason in p.before.items():
            if other not in position:
                found.append(f"{p.name} runs before {other}, which is not a pass ({reason})")
            elif position[other] < position[p.name]:
                found.append(f"{p.name} must run before {other}: {reason}")
    return found


@attrs.define
class PassRecord:
    name: str
    seconds: float
    ops_before: int
    ops_after: int
    const_bytes_before: int
    const_bytes_after: int
    rewrites: int
    skipped: list[tuple[str, str]]
    approximations: list[tuple[str, str]]
    warnings: list[tuple[str, str]]
    removed: list[str] = attrs.field(factory=list)   # names of the ops the pass erased
    added: list[str] = attrs.field(factory=list)     # names of the ops it created
    verify_seconds: float = 0.0


@attrs.define
class Report:
    records: list[PassRecord] = attrs.field(factory=list)

    @property
    def exact(self) -> bool:
        return not any(r.approximations for r in self.records)

    @property
    def total_seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def format_table(self) -> str:
        rows = [("pass", "ms", "ops before", "ops after", "rewrites", "removed", "added", "skipped",
                 "approximations")]
        for r in self.records:
            rows.append((r.name, f"{r.seconds * 1e3:.2f}", str(r.ops_before), str(r.ops_after), str(r.rewrites),
                         str(len(r.removed)), str(len(r.added)), str(len(r.skipped)), str(len(r.approximations))))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
        lines.append(f"total {self.total_seconds * 1e3:.2f} ms; output is {'exact' if self.exact else 'APPROXIMATE'}")
        for r in self.records:
            for label, names in (("removed", r.removed), ("added", r.added)):
                if names:
                    shown = ", ".join(names[:6]) + (f", … ({len(names)} in all)" if len(names) > 6 else "")
                    lines.append(f"  {r.name} {label}: {shown}")
            lines += [f"  skipped by {r.name}: {op}: {why}" for op, why in r.skipped[:10]]
            lines += [f"  approximation in {r.name}: {op}: {what}" for op, what in r.approximations]
            lines += [f"  warning from {r.name}: {op}: {what}" for op, what in r.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"exact": self.exact, "total_seconds": self.total_seconds,
                "passes": [attrs.asdict(r) for r in self.records]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _const_bytes(graph) -> int:
    return sum(v.data.nbytes for v in graph.constants.values())   # .data: no deferred constant computed


class Pipeline:
    def __init__(self, passes: list[Pass]):
        self.passes = list(passes)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.passes]

    def run(self, graph, ctx: PassContext, *, verify_each: bool = False, dump_dir: str | None = None,
            after_pass: Callable | None = None) -> Report:
        """Run every pass in order; `after_pass(record)` is called after each (a benchmark reads memory there)."""
        report = Report()
        if dump_dir:
            try:
                os.makedirs(dump_dir, exist_ok=True)
            except OSError as exc:
                raise ConversionError(f"cannot create the IR dump directory {dump_dir!r}: {exc.strerror or exc}",
                                      hint="choose a writable --dump-ir directory") from None
            _dump(dump_dir, 0, "frontend", graph)
        for number, p in enumerate(self.passes, start=1):
            before, bytes_before = len(graph), _const_bytes(graph)
            ops_before = {id(op): op.name for op in graph}
            marks = (len(ctx.skipped), len(ctx.approximations), len(ctx.warnings))
            # The IR's reference cycles (op ⇄ value, linked list) make the cyclic GC rescan the whole graph
            # again and again while a pass allocates, which turned linear passes quadratic on 100k-op graphs.
            start = time.perf_counter()
            try:
                with cyclic_gc_paused():
                    result = p(graph, ctx)
            except ConversionError as exc:
                exc.detail = f"{exc.detail} (in pass {p.name})"
                exc.args = (exc._compose(),)
                raise
            except Exception as exc:  # noqa: BLE001  (a pass bug becomes a PassFailed with its history)
                ran = ", ".join(self.names[:number - 1]) or "none"
                raise PassFailed(f"pass {p.name} crashed with {type(exc).__name__}: {exc}; passes run before it: "
                                 f"{ran}", hint="this is a converter bug; please report it with the model") from exc
            finally:
                seconds = time.perf_counter() - start
            ops_after = {id(op): op.name for op in graph}
            foreign = sorted({op.kind for op in graph if id(op) not in ops_before and not p.may_add(op.kind)})
            if foreign:
                raise PassFailed(f"pass {p.name} added op kind(s) {', '.join(foreign)} that its @compiler_pass "
                                 "declaration does not list", hint="this is a converter bug; please report it")
            record = PassRecord(p.name, seconds, before, len(graph), bytes_before, _const_bytes(graph),
                                result.rewrites, ctx.skipped[marks[0]:], ctx.approximations[marks[1]:],
                                ctx.warnings[marks[2]:],
                                removed=[name for key, name in ops_before.items() if key not in ops_after],
                                added=[name for key, name in ops_after.items() if key not in ops_before])
            if verify_each:
                start = time.perf_counter()
                try:
                    graph.verify()
                except ConversionError as exc:
                    exc.detail = f"{exc.detail} (after pass {p.name})"
                    exc.args = (exc._compose(),)
                    raise
                record.verify_seconds = time.perf_counter() - start
            if dump_dir:
                _dump(dump_dir, number, p.name, graph)
            report.records.append(record)
            if after_pass is not None:
                after_pass(record)
        return report


def _dump(directory: str, number: int, name: str, graph) -> None:
    with open(os.path.join(directory, f"{number:02d}_{name}.ir"), "w", encoding="utf-8") as f:
        f.write(str(graph) + "\n")
