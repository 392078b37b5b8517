
import numpy as np

from compiler.ir import Graph, TensorType
from compiler.ops import Activation, Convolution
from tests.passes.helpers import kinds, run


def test_unused_ops_and_constants_are_removed():
    g = Graph("g")
    x = g.input("data", TensorType((1, 3, 4, 4)))
    w = g.constant(np.ones((2, 3, 1, 1)), "w")
    dead_w = g.constant(np.ones((2, 3, 1, 1)), "dead_w")
    used = g.add(Convolution(num_filter=2, kernel=1), x, w, name="used")
    dead = g.add(Convolution(num_filter=2, kernel=1), x, dead_w, name="dead")
    g.add(Activation(act_type="relu"), dead.result, name="dead_relu")
    g.outputs = [used.result]
    result, _ = run("eliminate_dead_code", g)
    assert result.rewrites == 2 and kinds(g) == ["Convolution"] and list(g.constants) == ["w"]


def test_outputs_are_never_removed():
    g = Graph("g")
    x = g.input("data", TensorType((1, 3, 4, 4)))
    a = g.add(Activation(act_type="relu"), x, name="a")
    b = g.add(Activation(act_type="tanh"), x, name="b")
    g.outputs = [a.result, b.result]
    assert run("eliminate_dead_code", g)[0].rewrites == 0 and len(g) == 2

