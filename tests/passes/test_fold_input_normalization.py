import pytest

from compiler.errors import BadAttribute
from compiler.ops import Activation, Convolution
from tests.passes.helpers import IR, check, kinds, run

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


def _model():
    ir = IR()
    y = ir(Convolution(num_filter=4, kernel=3, pad=1), ir.input((1, 3, 9, 9)), ir.weight((4, 3, 3, 3)), name="c")
    return ir.output(ir(Activation(act_type="relu"), y, name="r"))


def test_mean_and_std_become_a_scale_at_the_input():
    """The model then takes raw pixels: the contract records the normalisation, and the numbers on raw pixels equal
    the original model's on normalised ones."""
    result, ctx, graph = check("fold_input_normalization", _model, idempotent=False, mean=MEAN, std=STD)
    assert kinds(graph) == ["Scale", "Convolution", "Activation"]
    assert ctx.inputs["data"].raw_pixels and ctx.inputs["data"].mean == MEAN


def test_a_scale_alone_folds_into_the_first_convolution():
    _, ctx, graph = check("fold_input_normalization", _model, idempotent=False, std=STD, input_scale=1 / 255)
    assert kinds(graph) == ["Convolution", "Activation"] and ctx.inputs["data"].scale == 1 / 255


def test_a_wrong_number_of_values_is_an_error():
    with pytest.raises(BadAttribute, match="mean"):
        run("fold_input_normalization", _model(), mean=(1.0, 2.0))
