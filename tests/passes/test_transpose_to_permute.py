from compiler.ops import Activation, Convolution, Transpose
from tests.passes.helpers import IR, check, kinds


def _transposed(*orders):
    def build():
        ir = IR()
        y = ir(Convolution(num_filter=4, kernel=1), ir.input((1, 3, 4, 5)), ir.weight((4, 3, 1, 1)), name="c")
        for i, order in enumerate(orders):
            y = ir(Transpose(axes=order), y, name="ab"[i])
        return ir.output(ir(Activation(act_type="relu"), y, name="r"))
    return build


def test_inverse_transposes_cancel_on_every_target():
    result, _, graph = check("transpose_to_permute", _transposed((0, 2, 3, 1), (0, 3, 1, 2)))
    assert result.rewrites == 1 and kinds(graph) == ["Convolution", "Activation"]


def test_two_transposes_merge_into_one():
    _, _, graph = check("transpose_to_permute", _transposed((0, 2, 3, 1), (0, 2, 1, 3)))
    (t,) = graph.ops_of(Transpose)
    assert t.attrs.axes == (0, 3, 2, 1) and t.name == "b"


def test_a_transpose_becomes_a_permute_where_the_target_has_it():
    result, _, graph = check("transpose_to_permute", _transposed((0, 2, 3, 1)), layers={"Permute"})
    assert result.rewrites == 1 and graph.ops_of("Permute")[0].attrs.order == (0, 2, 3, 1)


def test_a_transpose_stays_without_permute():
    result, _, graph = check("transpose_to_permute", _transposed((0, 2, 3, 1)))
    assert result.rewrites == 0 and kinds(graph) == ["Convolution", "Transpose", "Activation"]
