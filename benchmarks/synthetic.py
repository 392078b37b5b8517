"""Synthetic IR graphs of a chosen size, built without MXNet, that exercise every pass."""
from __future__ import annotations

import numpy as np

from compiler.ir import Graph, TensorType
from compiler.ops import (Activation, BatchNorm, Clip, Convolution, Dropout, ElemwiseAdd, ScalarOp, Transpose)

UNIT_OPS = 9   # ops added per unit below


def conv_bn_chain(target_ops: int, channels: int = 4, size: int = 4, seed: int = 0) -> Graph:
    """Units of conv → BatchNorm → clip(0,6) → ×2 → +1 → Dropout → transpose pair → residual add."""
    rng = np.random.RandomState(seed)
    g = Graph(f"synthetic_{target_ops}")
    x = g.input("data", TensorType((1, channels, size, size)))
    for unit in range(max(1, target_ops // UNIT_OPS)):
        p = f"u{unit}_"
        w = g.constant(rng.standard_normal((channels, channels, 1, 1)) * 0.5, p + "w")
        stats = [g.constant(rng.uniform(0.5, 1.5, channels), p + n) for n in ("gamma", "beta", "mean", "var")]
        y = g.add(Convolution(num_filter=channels, kernel=1), x, w, name=p + "conv").result
        y = g.add(BatchNorm(eps=1e-5, fix_gamma=False), y, *stats, name=p + "bn").result
        y = g.add(Clip(a_min=0.0, a_max=6.0), y, name=p + "relu6").result
        y = g.add(ScalarOp(op="mul", scalar=2.0), y, name=p + "mul").result
        y = g.add(ScalarOp(op="plus", scalar=1.0), y, name=p + "plus").result
        y = g.add(Dropout(p=0.1), y, name=p + "drop").result
        y = g.add(Transpose(axes=(0, 2, 3, 1)), y, name=p + "nhwc").result
        y = g.add(Transpose(axes=(0, 3, 1, 2)), y, name=p + "nchw").result
        x = g.add(ElemwiseAdd(), y, x, name=p + "add").result
    x = g.add(Activation(act_type="relu"), x, name="out").result
    g.outputs = [x]
    return g
