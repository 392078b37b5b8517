import pytest

from compiler.errors import BadAttribute
from compiler.frontend.attr_parser import build_attrs, parse_literal, parse_value
from compiler.ops import BatchNorm, Convolution, Pooling


@pytest.mark.parametrize("text, expected", [
    ("(3, 3)", (3, 3)), ("(3,3)", (3, 3)), ("[1, 1]", (1, 1)), ("()", ()), ("(None, 1)", (None, 1)),
    ("True", True), ("false", False), ("1", 1), ("1.0", 1.0), ("0.0010000000474974513", 0.0010000000474974513),
    ("-1e-05", -1e-05), ("relu", "relu"), ("None", None), ("((1, 2), 3)", ((1, 2), 3)),
])
def test_literals(text, expected):
    assert parse_literal(text) == expected


@pytest.mark.parametrize("text, hint, expected", [
    ("1", bool, True), ("0", bool, False), ("True", bool, True), ("(2, 3)", tuple[int, int], (2, 3)),
    ("3", tuple[int, int], (3, 3)), ("2.0", int, 2), ("7", float, 7.0), ("None", int | None, None),
])
def test_typed_values(text, hint, expected):
    assert parse_value(text, hint) == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch /tmp/owned')",
    "(lambda: 1)()",
    "open('/etc/passwd').read()",
    "exec('1')",
    "[x for x in ()]",
])
def test_code_in_attribute_strings_is_never_run(text, tmp_path):
    with pytest.raises(BadAttribute):
        build_attrs(Convolution, {"num_filter": "4", "kernel": text}, node="n", op="Convolution")


def test_unknown_attribute_names_node_op_and_attribute():
    with pytest.raises(BadAttribute) as info:
        build_attrs(Pooling, {"kernel": "(2, 2)", "frobnicate": "1"}, node="pool7", op="Pooling")
    message = str(info.value)
    assert "pool7" in message and "Pooling" in message and "frobnicate" in message


def test_bad_value_names_the_attribute():
    with pytest.raises(BadAttribute, match="pool_type"):
        build_attrs(Pooling, {"kernel": "(2, 2)", "pool_type": "median"}, node="p", op="Pooling")


def test_missing_required_attribute():
    with pytest.raises(BadAttribute, match="'num_filter'.*required"):
        build_attrs(Convolution, {"kernel": "(3, 3)"}, node="c", op="Convolution")


def test_operator_defaults_apply_when_attributes_are_missing():
    bn = build_attrs(BatchNorm, {}, node="bn", op="BatchNorm")
    assert bn.eps == 1e-3 and bn.fix_gamma is True


def test_empty_tuple_means_default():
    conv = build_attrs(Convolution, {"num_filter": "2", "kernel": "(1, 1)", "pad": "()"}, node="c",
                       op="Convolution")
    assert conv.pad == (0, 0)


def test_repeated_attribute_strings_parse_the_same_whatever_came_before():
    """Parsed values are remembered per (text, field type): equal literals of other types (1, 1.0, True) and a
    failure must not leak from one node to the next."""
    from compiler.ops import Activation, LeakyReLU

    first = build_attrs(Convolution, {"num_filter": "4", "kernel": "(3, 3)"}, node="a", op="Convolution")
    again = build_attrs(Convolution, {"num_filter": "4.0", "kernel": "(3,3)"}, node="b", op="Convolution")
    assert first.kernel == again.kernel == (3, 3) and again.num_filter == 4
    assert build_attrs(LeakyReLU, {"act_type": "leaky", "slope": "1"}, node="c", op="LeakyReLU").slope == 1.0
    with pytest.raises(BadAttribute, match="kernel"):
        build_attrs(Convolution, {"num_filter": "4", "kernel": "(3, x"}, node="d", op="Convolution")
    with pytest.raises(BadAttribute, match="kernel"):   # the same bad text again: still an error
        build_attrs(Convolution, {"num_filter": "4", "kernel": "(3, x"}, node="e", op="Convolution")
    assert build_attrs(LeakyReLU, {"act_type": "leaky", "slope": "1.5"}, node="f", op="LeakyReLU").slope == 1.5
    with pytest.raises(BadAttribute, match="num_filter"):
        build_attrs(Convolution, {"num_filter": "1.5", "kernel": "3"}, node="g", op="Convolution")   # no integer
    assert build_attrs(Activation, {"act_type": "relu"}, node="h", op="Activation").act_type == "relu"
