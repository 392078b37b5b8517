import numpy as np

from compiler.ops import Activation, Convolution, ScalarOp
from tests.passes.helpers import IR, check, kinds


def _conv(ir, x):
    return ir(Convolution(num_filter=4, kernel=3, pad=1), x, ir.weight((4, 3, 3, 3)), ir.weight((4,)), name="c")


def test_an_affine_chain_becomes_one_power():
    def build():
        ir = IR()
        y = ir(Activation(act_type="relu"), _conv(ir, ir.input((1, 3, 6, 6))), name="r")
        for op, c in (("mul", 2.0), ("plus", 1.0), ("minus", 0.5), ("div", 4.0)):
            y = ir(ScalarOp(op=op, scalar=c), y)
        return ir.output(ir(Activation(act_type="tanh"), y, name="t"))
    _, _, graph = check("fold_scalar_arithmetic", build)
    assert kinds(graph) == ["Convolution", "Activation", "Power", "Activation"]
    power = graph.ops_of("Power")[0].attrs
    assert (power.scale, power.shift) == (0.5, 0.125)


def test_an_affine_power_after_a_convolution_folds_into_its_weights():
    def build():
        ir = IR()
        y = ir(ScalarOp(op="rminus", scalar=3.0), _conv(ir, ir.input((1, 3, 6, 6))))
        return ir.output(ir(Activation(act_type="relu"), y, name="r"))
    weight = build().ops[0].operands[1].const
    _, _, graph = check("fold_scalar_arithmetic", build)
    assert kinds(graph) == ["Convolution", "Activation"]
    np.testing.assert_array_equal(np.asarray(graph.ops[0].operands[1].const), -weight)


def test_non_affine_scalar_ops_stay_powers():
    def build():
        ir = IR()
        y = ir(ScalarOp(op="plus", scalar=1.0), ir(Activation(act_type="relu"), _conv(ir, ir.input((1, 3, 6, 6)))))
        return ir.output(ir(ScalarOp(op="rdiv", scalar=2.0), y), ir(ScalarOp(op="power", scalar=2.0), y))
    _, _, graph = check("fold_scalar_arithmetic", build)
    assert sorted(op.attrs.power for op in graph.ops_of("Power")) == [-1.0, 1.0, 2.0]


def test_a_power_with_two_users_is_not_folded_into_the_convolution():
    def build():
        ir = IR()
        c = _conv(ir, ir.input((1, 3, 6, 6)))
        return ir.output(ir(ScalarOp(op="mul", scalar=2.0), c), c)
    _, _, graph = check("fold_scalar_arithmetic", build)
    assert kinds(graph) == ["Convolution", "Power"]
