"""Text form of a Graph: one op per line, every attribute field in declaration order, deterministic."""
from __future__ import annotations

import attrs


def _format_field(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ",".join(_format_field(v) for v in value) + ")"
    return str(value)


def format_attrs(op_attrs) -> str:
    fields = attrs.fields(type(op_attrs))
    return ", ".join(f"{f.name}={_format_field(getattr(op_attrs, f.name))}" for f in fields)


def format_op(op) -> str:
    results = ", ".join(f"%{r.name}: {r.type}" for r in op.results)
    operands = ", ".join(f"%{v.name}" for v in op.operands)
    text = f"  {results} = {op.kind}({operands})"
    body = format_attrs(op.attrs)
    return text + (f" {{{body}}}" if body else "")


def format_graph(graph) -> str:
    inputs = ", ".join(f"%{v.name}: {v.type}" for v in graph.inputs)
    lines = [f"graph {graph.name}({inputs}) {{"]
    lines += [f"  const %{v.name}: {v.type}" for v in graph.constants.values()]
    lines += [format_op(op) for op in graph]
    lines.append("  return " + ", ".join(f"%{v.name}" for v in graph.outputs))
    lines.append("}")
    return "\n".join(lines)
