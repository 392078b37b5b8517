"""Legality: before any file exists, every IR op must be emittable with the target's layers."""
from __future__ import annotations

from backends.emitters import EMITTERS, layers_needed
from compiler.errors import IllegalForTarget
from compiler.ir.printer import format_attrs


def _other_targets_with(layers: frozenset[str], current) -> list[str]:
    from backends import TARGETS

    return [t.name for t in TARGETS.values() if t.name != current.name and layers <= t.layers]


def problems(graph, target) -> list[str]:
    found = []
    for op in graph:
        where = f"{op.origin.node} ({op.origin.op})" if op.origin else op.name
        described = f"{where} as {op.kind} {{{format_attrs(op.attrs)}}}"
        emitter = EMITTERS.get(op.kind)
        rank = max(v.type.rank for v in (*op.operands, *op.results))
        if target.policy.max_rank and rank > target.policy.max_rank:
            found.append(f"{described}: {target.name} holds blobs of at most {target.policy.max_rank} dims (the batch "
                         f"included); this op has a rank-{rank} blob")
            continue
        if emitter is None:
            found.append(f"{described}: the {target.name} target has no layer for {op.kind}")
            continue
        needed = layers_needed(op, target)
        missing = needed - target.layers
        if missing:
            elsewhere = _other_targets_with(needed, target)
            hint = f"; the {', '.join(elsewhere)} target(s) have it" if elsewhere else ""
            found.append(f"{described}: needs layer(s) {', '.join(sorted(missing))} that {target.name} lacks{hint}")
            continue
        reason = emitter.legal(op, target) if emitter.legal else None
        if reason:
            found.append(f"{described}: {reason}")
    return found


def check(graph, target) -> None:
    found = problems(graph, target)
    if found:
        listing = "\n".join(f"  - {p}" for p in found)
        raise IllegalForTarget(f"{len(found)} op(s) cannot be expressed exactly for target '{target.name}':\n"
                               f"{listing}", hint="change the model, choose another --target, or see the README's "
                                                  "known limits")
