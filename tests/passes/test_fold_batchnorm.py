import numpy as np

from compiler.ops import Activation, BatchNorm, Convolution, FullyConnected
from tests.passes.helpers import IR, check, kinds, run


def _conv_bn(fix_gamma=False, users=1, on_input=False, dense=False):
    def build():
        ir = IR()
        x = ir.input((1, 3, 8, 8))
        if dense:
            y = ir(FullyConnected(num_hidden=4, flatten=False), x, ir.weight((4, 8)), ir.weight((4,)), name="fc")
        elif not on_input:
            y = ir(Convolution(num_filter=4, kernel=3, pad=1), x, ir.weight((4, 3, 3, 3)), ir.weight((4,)), name="c")
        else:
            y = x
        channels = y.type.shape[1]
        stats = [ir.weight((channels,), between=(0.5, 2.0)) for _ in range(2)] + \
                [ir.weight((channels,)), ir.weight((channels,), between=(0.5, 2.0))]
        bn = ir(BatchNorm(fix_gamma=fix_gamma, eps=1e-5), y, stats[0], stats[2], stats[1], stats[3], name="bn")
        outputs = [bn] + ([ir(Activation(act_type="relu"), y, name="other")] if users > 1 else [])
        return ir.output(*outputs)
    return build


def test_folds_into_a_single_use_convolution_with_the_same_numbers():
    result, ctx, graph = check("fold_batchnorm", _conv_bn())
    assert result.rewrites == 1 and kinds(graph) == ["Convolution"] and not ctx.skipped


def test_fix_gamma_ignores_gamma():
    result, _, _ = check("fold_batchnorm", _conv_bn(fix_gamma=True))
    assert result.rewrites == 1


def test_a_convolution_with_two_consumers_is_not_folded():
    result, ctx, graph = check("fold_batchnorm", _conv_bn(users=2))
    assert result.rewrites == 0 and "BatchNorm" in kinds(graph) and "single-use" in ctx.skipped[0][1]


def test_a_batchnorm_on_an_input_is_not_folded():
    result, ctx, _ = check("fold_batchnorm", _conv_bn(on_input=True))
    assert result.rewrites == 0 and ctx.skipped


def test_a_dense_layer_on_the_last_axis_is_not_folded():
    result, ctx, _ = check("fold_batchnorm", _conv_bn(dense=True))
    assert result.rewrites == 0 and "channels last" in ctx.skipped[0][1]


def test_nothing_happens_without_merge_bn():
    assert run("fold_batchnorm", _conv_bn()(), merge_bn=False)[0].rewrites == 0


def test_the_folded_weights_are_rounded_once_from_float64():
    graph = _conv_bn()()
    conv, bn = graph.ops
    weight, gamma, var = conv.operands[1].const, bn.operands[1].const, bn.operands[4].const
    run("fold_batchnorm", graph)
    factor = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + float(np.float32(1e-5)))
    expected = (weight.astype(np.float64) * factor[:, None, None, None]).astype(np.float32)
    assert np.array_equal(np.asarray(graph.ops[0].operands[1].const), expected)
