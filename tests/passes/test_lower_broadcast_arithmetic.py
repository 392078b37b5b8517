import pytest

from compiler.ops import (Activation, BroadcastAdd, BroadcastDiv, BroadcastMax, BroadcastMin, BroadcastMul,
                          BroadcastSub, Convolution)
from tests.passes.helpers import IR, check, kinds

OPS = {"add": BroadcastAdd, "sub": BroadcastSub, "mul": BroadcastMul, "div": BroadcastDiv}


def _data(ir, name="c"):
    x = ir.input((1, 3, 5, 6)) if not ir.graph.inputs else ir.graph.inputs[0]
    return ir(Activation(act_type="tanh"), ir(Convolution(num_filter=4, kernel=3, pad=1), x, ir.weight((4, 3, 3, 3)),
                                               name=name))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("const_shape", [(1, 4, 1, 1), (4, 1, 1), (1, 1, 1, 6), (1,)])
def test_data_with_a_constant_becomes_scale_or_power(op, const_shape):
    def build():
        ir = IR()
        x = _data(ir)
        return ir.output(ir(OPS[op](), x, ir.weight(const_shape, between=(0.5, 2.0)), name="arith"))
    result, _, graph = check("lower_broadcast_arithmetic", build)
    assert result.rewrites == 1 and kinds(graph)[-1] == ("Power" if const_shape == (1,) else "Scale")


def test_constant_minus_data():
    def build():
        ir = IR()
        return ir.output(ir(BroadcastSub(), ir.weight((1, 4, 1, 1)), _data(ir), name="rsub"))
    result, _, _ = check("lower_broadcast_arithmetic", build)
    assert result.rewrites == 1


@pytest.mark.parametrize("op, last", [(BroadcastSub, "Eltwise"), (BroadcastMul, "Eltwise"), (BroadcastDiv, "Eltwise"),
                                      (BroadcastMax, "Eltwise"), (BroadcastMin, "Power")])
def test_same_shaped_data(op, last):
    """Data ∘ data is one Eltwise; x / y is x · y⁻¹ (one rounding more than MXNet's division), min(x, y) is
    −max(−x, −y)."""
    def build():
        ir = IR()
        return ir.output(ir(op(), _data(ir, "a"), _data(ir, "b"), name="arith"))
    result, _, graph = check("lower_broadcast_arithmetic", build, tolerance=1e-5)
    assert result.rewrites == 1 and kinds(graph)[-1] == last


def test_data_broadcast_against_data_repeats_it_with_exact_layers():
    def build():
        ir = IR()
        x = _data(ir)
        gate = ir(Activation(act_type="sigmoid"), ir(Convolution(num_filter=1, kernel=1), x, ir.weight((1, 4, 1, 1))))
        return ir.output(ir(BroadcastMul(), x, gate, name="gated"))
    result, _, graph = check("lower_broadcast_arithmetic", build)
    assert result.rewrites == 1 and "Eltwise" in kinds(graph)
