import numpy as np
import pytest

from compiler.errors import IRVerificationError, ShapeMismatch
from compiler.ir import Graph, TensorType
from compiler.ops import Activation, Convolution, ElemwiseAdd, Flatten


def small_graph():
    g = Graph("g")
    x = g.input("data", TensorType((1, 3, 8, 8)))
    w = g.constant(np.ones((4, 3, 3, 3)), "w")
    conv = g.add(Convolution(num_filter=4, kernel=3, pad=1), x, w, name="conv")
    relu = g.add(Activation(act_type="relu"), conv.result, name="relu")
    g.outputs = [relu.result]
    return g, x, w, conv, relu


def test_add_infers_types_and_records_uses():
    g, x, w, conv, relu = small_graph()
    assert conv.result.type == TensorType((1, 4, 8, 8))
    assert x.users == [conv] and w.users == [conv] and conv.result.users == [relu]
    g.verify()


def test_shape_errors_happen_where_the_op_is_added():
    g, x, *_ = small_graph()
    w = g.constant(np.ones((4, 2, 3, 3)), "bad")
    with pytest.raises(ShapeMismatch, match="weight has shape"):
        g.add(Convolution(num_filter=4, kernel=3), x, w, name="conv2")


def test_replace_all_uses_and_erase_keep_use_sets():
    g, x, w, conv, relu = small_graph()
    flat = g.add(Flatten(), relu.result, name="flat")
    g.outputs = [flat.result]
    g.replace_all_uses(relu.result, conv.result)
    g.erase(relu)
    assert flat.operands == (conv.result,) and conv.result.users == [flat]
    assert [op.name for op in g] == ["conv", "flat"]
    g.verify()


def test_erase_refuses_a_used_result():
    g, x, w, conv, relu = small_graph()
    with pytest.raises(IRVerificationError, match="still used"):
        g.erase(conv)


def test_inserting_before_keeps_topological_order():
    g, x, w, conv, relu = small_graph()
    with g.inserting_before(relu):
        extra = g.add(Activation(act_type="tanh"), conv.result, name="tanh")
    assert [op.name for op in g] == ["conv", "tanh", "relu"]
    g.set_operand(relu, 0, extra.result)
    g.verify()


def test_names_are_unique_and_constants_read_only():
    g, x, w, conv, relu = small_graph()
    again = g.add(Activation(act_type="relu"), conv.result, name="relu")
    assert again.name == "relu_1"
    with pytest.raises(ValueError):
        w.const[0, 0, 0, 0] = 5


def test_ops_of_returns_a_snapshot_in_graph_order():
    g, x, w, conv, relu = small_graph()
    add = g.add(ElemwiseAdd(), conv.result, relu.result, name="sum")
    assert g.ops_of(ElemwiseAdd, Convolution) == [conv, add]
    for op in g.ops_of(ElemwiseAdd):
        g.erase(op)
    assert len(g) == 2


def test_printer_is_deterministic_and_shows_every_field():
    g, *_ = small_graph()
    text = str(g)
    assert text == str(g)
    assert "graph g(%data: f32[1,3,8,8]) {" in text
    assert "const %w: f32[4,3,3,3]" in text
    assert ("%conv: f32[1,4,8,8] = Convolution(%data, %w) {num_filter=4, kernel=(3,3), stride=(1,1), "
            "dilate=(1,1), pad=(1,1), num_group=1, layout=None}") in text
    assert text.rstrip().endswith("return %relu\n}")
