"""Pad (zero, reflect, edge; symmetric and not) and slice_axis on data, run in OpenCV and pycaffe for every target."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import target_names
from compiler.errors import IllegalForTarget
from tests.helpers import convert_and_compare, random_params

TARGETS = tuple(target_names())   # every target


def _conv(x, name="conv", filters=4, pad=1):
    return mx.sym.Convolution(x, kernel=(3, 3), pad=(pad, pad), num_filter=filters, name=name)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (1, 0, 1, 0), (0, 1, 0, 1), (2, 1, 0, 3)])
def test_pad(tmp_path, mode, pads):
    x = _conv(mx.sym.var("data"))
    symbol = _conv(mx.sym.pad(x, mode=mode, pad_width=(0, 0, 0, 0, *pads), name="pad"), "after", pad=0)
    shapes = {"data": (2, 3, 6, 5)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_zero_pad_before_max_pooling_keeps_its_zeros(tmp_path):
    """NASNet's MaxPoolPad: the padded zeros take part in the max (Caffe would pad max pooling with −∞)."""
    x = mx.sym.relu(_conv(mx.sym.var("data"))) - 5.0    # mostly negative, so a zero from the padding wins
    padded = mx.sym.pad(x, mode="constant", pad_width=(0, 0, 0, 0, 1, 0, 1, 0), name="pad")
    symbol = mx.sym.Pooling(padded, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max", name="pool")
    shapes = {"data": (1, 3, 8, 8)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_pad_with_a_nonzero_constant_is_refused(tmp_path):
    symbol = mx.sym.pad(_conv(mx.sym.var("data")), mode="constant", constant_value=1.0,
                        pad_width=(0, 0, 0, 0, 1, 1, 1, 1), name="pad")
    shapes = {"data": (1, 3, 4, 4)}
    with pytest.raises(IllegalForTarget, match="pad.*has no exact form"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)


@pytest.mark.parametrize("begin, end", [(0, 2), (2, None), (1, 3), (0, None)])
def test_slice_axis_on_data(tmp_path, begin, end):
    x = _conv(mx.sym.var("data"))
    symbol = _conv(mx.sym.slice_axis(x, axis=1, begin=begin, end=end, name="part"), "after")
    shapes = {"data": (1, 3, 5, 5)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
