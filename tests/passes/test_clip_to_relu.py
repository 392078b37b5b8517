import numpy as np
import pytest

from compiler.ops import Clip, Convolution
from tests.passes.helpers import IR, check, kinds

FLT_MAX = float(np.finfo(np.float32).max)


def _clipped(a_min, a_max, twice=None):
    def build():
        ir = IR()
        x = ir.input((1, 3, 6, 6))
        y = ir(Convolution(num_filter=4, kernel=3, pad=1), x, ir.weight((4, 3, 3, 3), between=(-4, 4)), name="c")
        if twice is not None:
            y = ir(Clip(a_min=twice[0], a_max=twice[1]), y, name="first")
        return ir.output(ir(Clip(a_min=a_min, a_max=a_max), y, name="relu6"))
    return build


@pytest.mark.parametrize("a_min, a_max, expected", [
    (0.0, 6.0, ["Activation", "Power", "Activation", "Power"]),
    (-1.5, 2.0, ["Power", "Activation", "Power", "Activation", "Power"]),
    (0.0, FLT_MAX, ["Activation"]),
    (-FLT_MAX, 1.0, ["Power", "Activation", "Power"]),
    (0.5, FLT_MAX, ["Power", "Activation", "Power"]),
])
def test_a_clip_becomes_an_exact_composition(a_min, a_max, expected):
    result, ctx, graph = check("clip_to_relu", _clipped(a_min, a_max))
    assert result.rewrites == 1 and kinds(graph)[1:] == expected and not ctx.approximations


def test_two_clips_in_a_row_are_one():
    result, _, graph = check("clip_to_relu", _clipped(-2.0, 6.0, twice=(0.0, 10.0)))
    assert result.rewrites == 2 and kinds(graph)[1:] == ["Activation", "Power", "Activation", "Power"]


def test_relu6_is_native_where_the_target_has_it():
    _, _, graph = check("clip_to_relu", _clipped(0.0, 6.0), layers={"ReLU6"})
    assert kinds(graph)[-1] == "ReLU6" and graph.ops[-1].name == "relu6"


def test_relu6_approx_is_reported_and_only_for_clip_0_6():
    _, ctx, graph = check("clip_to_relu", _clipped(0.0, 6.0), relu6="approx")
    assert ctx.approximations and "ReLU" in ctx.approximations[0][1] and kinds(graph)[1:] == ["Activation"]
    _, ctx, _ = check("clip_to_relu", _clipped(-1.0, 1.0), relu6="approx")
    assert not ctx.approximations
