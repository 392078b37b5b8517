"""The typed SSA IR: Graph, Op, Value, TensorType and the op-definition registry."""
from compiler.ir.graph import Graph, Op, Origin, Value
from compiler.ir.opdef import REGISTRY, OpDef, Trait, op_def
from compiler.ir.types import DType, TensorType

__all__ = ["Graph", "Op", "Origin", "Value", "REGISTRY", "OpDef", "Trait", "op_def", "DType", "TensorType"]
