"""Reductions (segment consensus, split-attention sums) and transposes without a Permute layer (channel shuffle),
run in OpenCV and pycaffe against MXNet for every target."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import target_names
from compiler.errors import IllegalForTarget
from tests.helpers import convert_and_compare, layer_types, random_params

TARGETS = tuple(target_names())   # every target


def _conv(x, filters=6, name="conv"):
    return mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=filters, name=name)


@pytest.mark.parametrize("build, shape", [
    (lambda x: mx.sym.mean(mx.sym.reshape(mx.sym.Flatten(_conv(x)), shape=(-1, 3, 6 * 4 * 4)), axis=1), (3, 3, 4, 4)),
    (lambda x: mx.sym.sum(mx.sym.reshape(_conv(x), shape=(0, 2, 3, 4, 4)), axis=1), (2, 3, 4, 4)),
    (lambda x: mx.sym.mean(_conv(x), axis=(2, 3), keepdims=True), (1, 3, 5, 7)),
    (lambda x: mx.sym.sum(_conv(x), axis=1, keepdims=True), (1, 3, 5, 7)),
    (lambda x: mx.sym.mean(_conv(x, 40), axis=1), (1, 3, 4, 4)),
])
def test_reductions(tmp_path, build, shape):
    symbol = mx.sym.relu(build(mx.sym.var("data")), name="out")
    shapes = {"data": shape}
    for target in ("caffe", "caffe-ssd"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)


def test_reduction_over_the_batch_is_refused(tmp_path):
    symbol = mx.sym.sum(_conv(mx.sym.var("data")), axis=0, name="total")
    shapes = {"data": (2, 3, 4, 4)}
    with pytest.raises(IllegalForTarget, match="total.*batch axis"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)


@pytest.mark.parametrize("groups, batch", [(2, 1), (3, 2)])
def test_channel_shuffle(tmp_path, groups, batch):
    x = _conv(mx.sym.var("data"), filters=6)
    shuffled = mx.sym.reshape(mx.sym.SwapAxis(mx.sym.reshape(x, shape=(0, -4, groups, -1, -2)), dim1=1, dim2=2),
                              shape=(0, -3, -2))
    symbol = _conv(shuffled, filters=4, name="after")
    shapes = {"data": (batch, 3, 5, 4)}
    for target in TARGETS:
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert ("Permute" in layer_types(compiled)) == (target == "caffe-ssd")


def test_split_attention_swap_then_softmax(tmp_path):
    """ResNeSt's rSoftMax: (N, card, radix, C') → swap 1, 2 → softmax over radix → flatten."""
    x = mx.sym.contrib.AdaptiveAvgPooling2D(_conv(mx.sym.var("data"), filters=8), output_size=1)
    attention = mx.sym.softmax(mx.sym.SwapAxis(mx.sym.reshape(x, shape=(0, 2, 2, -1)), dim1=1, dim2=2), axis=1)
    symbol = mx.sym.reshape(attention, shape=(0, -1), name="out")
    shapes = {"data": (1, 3, 5, 5)}
    for target in TARGETS:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
