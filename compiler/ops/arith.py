"""Element-wise arithmetic on same-shaped tensors (mxnet-semantics §8)."""
from __future__ import annotations

import attrs

from compiler.ir.opdef import TRAIT_ELEMENTWISE, op_def
from compiler.ir.types import TensorType


@op_def(operands=("data*",), mxnet=("elemwise_add", "_Plus", "_plus", "broadcast_add", "broadcast_plus", "add_n",
                                   "ElementWiseSum"),
        ignored=("num_args",), traits=(TRAIT_ELEMENTWISE,))
@attrs.frozen(kw_only=True)
class ElemwiseAdd:
    """y = Σ operands; every operand has the same shape (broadcasting is not implied)."""

    def infer(self, *xs: TensorType) -> TensorType:
        if len(xs) < 2:
            raise ValueError("needs at least two operands")
        if len({x.shape for x in xs}) != 1:
            raise ValueError("operands must have identical shapes (no broadcasting): "
                             + ", ".join(str(x.shape) for x in xs))
        return xs[0]
