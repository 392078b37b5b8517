"""One test per verifier rule: build a graph that breaks it, expect that rule's error."""
import numpy as np
import pytest

from compiler.errors import IRVerificationError
from compiler.ir import TensorType
from compiler.ops import Activation
from tests.ir.test_graph import small_graph


def test_clean_graph_verifies():
    small_graph()[0].verify()


def test_ssa_order_rule():
    g, x, w, conv, relu = small_graph()
    # An op placed before the producer of its operand uses a value before it is defined.
    g.add(Activation(act_type="relu"), conv.result, name="early", before=conv)
    with pytest.raises(IRVerificationError, match="ssa-order"):
        g.verify()


def test_use_set_rule():
    g, x, w, conv, relu = small_graph()
    del conv.result.uses[(relu, 0)]
    with pytest.raises(IRVerificationError, match="use-sets"):
        g.verify()


def test_shape_rule():
    g, x, w, conv, relu = small_graph()
    relu.results[0].type = TensorType((1, 4, 8, 9))
    with pytest.raises(IRVerificationError, match="shape-rule"):
        g.verify()


def test_unique_names_rule():
    g, x, w, conv, relu = small_graph()
    relu.results[0].name = "conv"
    with pytest.raises(IRVerificationError, match="unique-names"):
        g.verify()


def test_constant_rule():
    g, x, w, conv, relu = small_graph()
    w.const = np.ones((4, 3, 3, 3), np.float64)
    with pytest.raises(IRVerificationError, match="constants"):
        g.verify()


def test_outputs_rule():
    g, *_ = small_graph()
    g.outputs = []
    with pytest.raises(IRVerificationError, match="outputs"):
        g.verify()
