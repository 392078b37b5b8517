"""Graphs the differential fuzzer once failed on, kept as named tests."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.errors import IllegalForTarget
from tests.fuzz.test_differential import TARGETS, check_graph
from tests.helpers import convert_and_compare, random_params


def test_full_pooling_window_wholly_outside_an_unpadded_input_is_refused(tmp_path):
    # kernel 1, stride 2, pad 0, 'full' on width 4: the third window starts at 4, outside the input. MXNet gives
    # -FLT_MAX there; OpenCV gave something else (and Caffe's AVE would divide by zero).
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(1, 1), num_filter=1, name="conv0")
    symbol = mx.sym.Pooling(conv, kernel=(1, 1), stride=(1, 2), pool_type="max", pooling_convention="full",
                            name="pool1")
    shapes = {"data": (1, 1, 4, 4)}
    for target in TARGETS:
        with pytest.raises(IllegalForTarget, match="pool1.*entirely outside the input"):
            convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_two_dropouts_before_a_softmax():
    # MXNet's oneDNN partitioner failed to bind this graph (the test reference now runs without it).
    data = mx.sym.var("data")
    symbol = mx.sym.softmax(mx.sym.Dropout(mx.sym.Dropout(data, p=0.5, name="drop0"), p=0.5, name="drop1"),
                            axis=1, name="prob")
    assert check_graph(symbol, {"data": (1, 1, 4, 4)}) == list(TARGETS)


def test_a_model_that_reduces_to_the_identity():
    # transpose(0,2,3,1) then transpose(0,3,1,2): the pair cancels and the output was the input itself, a net of
    # one Input layer that OpenCV could not run.
    data = mx.sym.var("data")
    symbol = mx.sym.transpose(mx.sym.transpose(data, axes=(0, 2, 3, 1), name="nhwc0"), axes=(0, 3, 1, 2),
                              name="nchw0")
    assert check_graph(symbol, {"data": (1, 2, 4, 4)}) == list(TARGETS)


def test_a_graph_whose_output_is_all_zeros():
    data = mx.sym.var("data")
    symbol = mx.sym.clip(mx.sym.clip(data, 0.0, 0.5, name="clip0"), -1.0, 0.0, name="clip1")
    assert check_graph(symbol, {"data": (1, 1, 4, 4)}) == list(TARGETS)


def test_pooling_padded_on_one_axis_where_caffe_and_opencv_round_differently(tmp_path):
    # BVLC drops a last window outside the input on both axes when either axis is padded, OpenCV only on a padded
    # axis: here width 5, kernel 1, stride 3, no width padding gives 2 columns in BVLC and 3 in OpenCV, and the
    # Slice that fixed OpenCV's size left BVLC an empty blob (pycaffe aborted).
    data = mx.sym.var("data")
    symbol = mx.sym.Pooling(data, kernel=(2, 1), pad=(1, 0), stride=(1, 3), pool_type="max", name="pool0")
    shapes = {"data": (1, 1, 4, 5)}
    for target in ("caffe", "caffe-ssd", "rknn"):
        with pytest.raises(IllegalForTarget, match="pool0.*round this axis to different sizes"):
            convert_and_compare(symbol, {}, shapes, tmp_path, target=target)
