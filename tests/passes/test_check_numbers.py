"""`--check-numbers` compares numbers after every pass with the frontend's (compiler/driver/pass_numbers.py): a rewrite
that changes them is named by its pass; options that change what the input is (BGR, raw pixels, NHWC) still compare
on the same data; an approximation asked for stops the comparison, saying so. No MXNet: the IR is built in Python."""
import attrs
import pytest

from compiler.driver.api import compile_graph
from compiler.errors import PassFailed
from compiler.ops import Activation, BatchNorm, Clip, Convolution, Transpose
from compiler.options import Options
from passes.manager import PassResult
from tests.passes.helpers import IR


def _model(channels_last: bool = False):
    ir = IR()
    x = ir.input((1, 9, 9, 3)) if channels_last else ir.input((1, 3, 9, 9))
    if channels_last:   # an NHWC model: the Caffe input becomes NCHW (reorder_input_layout)
        x = ir(Transpose(axes=(0, 3, 1, 2)), x, name="to_nchw")
    x = ir(Convolution(num_filter=4, kernel=3, pad=1), x, ir.weight((4, 3, 3, 3)), name="conv")
    x = ir(BatchNorm(eps=1e-3, fix_gamma=False), x, ir.weight((4,)), ir.weight((4,)), ir.weight((4,)),
           ir.weight((4,), between=(0.5, 2.0)), name="bn")
    x = ir(Clip(a_min=0.0, a_max=6.0), x, name="relu6")
    return ir.output(ir(Activation(act_type="sigmoid"), x, name="out"))


def break_the_sigmoid(graph, ctx):
    """Pattern: the sigmoid named out (a deliberately wrong rewrite, for this test)
    Emits:   a tanh
    Exact:   no: it is meant to be wrong"""
    (op,) = [op for op in graph if op.name == "out"]
    graph.set_attrs(op, attrs.evolve(op.attrs, act_type="tanh"))
    return PassResult(1)


def _warnings(compiled) -> list[str]:
    return [text for record in compiled.report.records for _, text in record.warnings]


@pytest.mark.parametrize("options", [{}, {"to_bgr": True}, {"merge_bn": False},
                                     {"mean": (1.0, 2.0, 3.0), "std": (2.0, 3.0, 4.0), "to_bgr": True},
                                     {"channels_last": True, "to_bgr": True, "mean": (1.0, 2.0, 3.0)}], ids=str)
def test_every_pass_keeps_the_numbers(options):
    options = dict(options)
    graph = _model(options.pop("channels_last", False))
    compiled = compile_graph(graph, "caffe", Options(check_numbers=True, **options))
    assert not any("check-numbers" in text for text in _warnings(compiled))


def test_a_pass_that_changes_the_numbers_is_named():
    with pytest.raises(PassFailed, match=r"pass break_the_sigmoid changed the numbers: output out differs"):
        compile_graph(_model(), "caffe", Options(check_numbers=True), extra_passes=[break_the_sigmoid])


def test_without_check_numbers_the_wrong_pass_goes_unnoticed_here():
    # the same broken pass, numbers not checked: nothing stops it (what --verify and the runtimes are for)
    compile_graph(_model(), "caffe", Options(), extra_passes=[break_the_sigmoid])


def test_an_approximation_asked_for_stops_the_comparison_and_says_so():
    compiled = compile_graph(_model(), "caffe", Options(check_numbers=True, relu6="approx"))
    assert not compiled.report.exact
    assert any("no further" in text and "approximates" in text for text in _warnings(compiled))
