import pytest

from compiler.errors import UnsupportedOp
from compiler.ops import BatchNorm, Concat, Convolution, FullyConnected, LeakyReLU
from tests.passes.helpers import IR, check, run


def _first_conv(groups=1):
    def build():
        ir = IR()
        x = ir.input((1, 3, 7, 7))
        return ir.output(ir(Convolution(num_filter=3 * groups if groups > 1 else 4, kernel=3, num_group=groups), x,
                            ir.weight((3 * groups if groups > 1 else 4, 3 // groups, 3, 3)), name="c"))
    return build


def test_the_first_convolution_reads_bgr_with_the_same_numbers():
    """The pass is its own inverse (a second run would reverse the channels back): not idempotent by design."""
    result, ctx, graph = check("reorder_input_channels", _first_conv(), idempotent=False, to_bgr=True)
    assert result.rewrites == 1 and ctx.inputs["data"].reversed_channels


def test_channel_wise_ops_before_the_weights_are_reversed_too():
    def build():
        ir = IR()
        x = ir.input((1, 3, 7, 7))
        stats = [ir.weight((3,), between=(0.5, 2)), ir.weight((3,)), ir.weight((3,)), ir.weight((3,), between=(0.5, 2))]
        x = ir(BatchNorm(fix_gamma=False), x, *stats, name="bn")
        x = ir(LeakyReLU(act_type="prelu"), x, ir.weight((3,), between=(0.1, 0.3)), name="p")
        return ir.output(ir(FullyConnected(num_hidden=5), x, ir.weight((5, 147)), name="fc"))
    result, _, _ = check("reorder_input_channels", build, idempotent=False, to_bgr=True)
    assert result.rewrites == 3


def test_a_consumer_that_is_not_channel_wise_is_refused():
    def build():
        ir = IR()
        x = ir.input((1, 3, 7, 7))
        conv = ir(Convolution(num_filter=3, kernel=3, pad=1), x, ir.weight((3, 3, 3, 3)), name="c")
        return ir.output(ir(Concat(dim=1), x, conv, name="cat"))
    with pytest.raises(UnsupportedOp, match="cat.*Concat is not a channel-wise op"):
        run("reorder_input_channels", build(), to_bgr=True)


def test_a_grouped_convolution_on_the_input_is_refused():
    with pytest.raises(UnsupportedOp, match="'c'"):
        run("reorder_input_channels", _first_conv(groups=3)(), to_bgr=True)


def test_nothing_happens_without_to_bgr():
    assert run("reorder_input_channels", _first_conv()())[0].rewrites == 0
