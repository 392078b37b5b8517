"""The translation of ncnn-dialect Caffe files into ncnn's .param/.bin (backends/ncnn_format.py), run in the real
ncnn runtime (the `ncnn` wheel) against OpenCV's run of the same Caffe files: the forms where ncnn's defaults differ
from Caffe (pooling's rounding and padding, in-place layers, blobs read twice), and the refusals. Whole models:
the lowering tests and tests/e2e run every ncnn-target conversion in ncnn too."""
import numpy as np
import pytest

from backends.ncnn_format import _format_param
from compiler.driver.verify.runtimes import run_ncnn, run_opencv
from compiler.errors import ConversionError

pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")


def _files(tmp_path, body: str, shape=(1, 3, 9, 11)):
    """A prototxt of an Input `data` of `shape` and `body`, with random weights written by pycaffe's format through
    OpenCV-free protobuf (every layer that needs weights lists them in `weights`)."""
    from google.protobuf import text_format

    from backends.schema import reader

    proto = reader()
    text = f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {" ".join(f"dim: {d}" for d in shape)} }} }} }}\n' + body
    net = text_format.Parse(text, proto.NetParameter())
    weights = proto.NetParameter()
    rng = np.random.default_rng(3)
    for layer in net.layer:
        if layer.type == "Convolution":
            p = layer.convolution_param
            entry = weights.layer.add(name=layer.name, type=layer.type)
            for dims in ([p.num_output, shape[1] // max(p.group, 1), p.kernel_size[0], p.kernel_size[0]],
                         [p.num_output]):
                blob = entry.blobs.add()
                blob.shape.dim.extend(dims)
                blob.data.extend(rng.standard_normal(int(np.prod(dims))).astype(np.float32).tolist())
    prototxt, caffemodel = tmp_path / "net.prototxt", tmp_path / "net.caffemodel"
    prototxt.write_text(text)
    caffemodel.write_bytes(weights.SerializeToString())
    return str(prototxt), str(caffemodel)


def _same_in_ncnn_and_opencv(prototxt, caffemodel, outputs, shape=(1, 3, 9, 11)):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    expected = run_opencv(prototxt, caffemodel, {"data": x}, outputs)
    actual = run_ncnn(prototxt, caffemodel, {"data": x}, outputs)
    for name, e, a in zip(outputs, expected, actual):
        assert a.shape == e.shape, (name, a.shape, e.shape)
        assert np.abs(a - e).max() <= 1e-5 * max(np.abs(e).max(), 1.0), (name, np.abs(a - e).max())


@pytest.mark.parametrize("pool", ["MAX", "AVE"])
@pytest.mark.parametrize("kernel, stride, pad", [(3, 2, 0), (3, 2, 1), (2, 2, 1), (3, 1, 1), (2, 2, 0), (4, 3, 2)])
def test_pooling_follows_caffe_rounding_and_padding(tmp_path, pool, kernel, stride, pad):
    """Caffe rounds up, clips a last window that starts in the padding, and counts the padding in an average where
    ncnn's defaults do neither; the translation writes explicit pads, or a Padding layer first."""
    body = (f'layer {{ name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param {{ pool: {pool} '
            f'kernel_size: {kernel} stride: {stride} pad: {pad} }} }}\n')
    _same_in_ncnn_and_opencv(*_files(tmp_path, body), ["pool"])


def test_in_place_layers_and_blobs_read_twice(tmp_path):
    """ncnn looks a blob up by its first producer (an in-place top gets a name of its own) and frees a blob after
    its first reader (a Split is inserted)."""
    body = '''layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "a" type: "Power" bottom: "conv" top: "a" power_param { scale: 2.0 shift: 0.5 } }
layer { name: "b" type: "Sigmoid" bottom: "conv" top: "b" }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" eltwise_param { operation: SUM coeff: 1.0 coeff: -3.0 } }
layer { name: "flat" type: "Reshape" bottom: "sum" top: "flat" reshape_param { shape { dim: 0 dim: 4 dim: -1 } } }
layer { name: "soft" type: "Softmax" bottom: "flat" top: "soft" softmax_param { axis: -1 } }
'''
    _same_in_ncnn_and_opencv(*_files(tmp_path, body), ["relu", "soft"])


def test_an_op_along_the_batch_axis_is_refused_by_name(tmp_path):
    """ncnn runs one sample at a time: a Concat of samples cannot be computed, so it is refused, not mistranslated
    (caffe2ncnn's axis − 1 would make it the last axis)."""
    body = 'layer { name: "twice" type: "Concat" bottom: "data" bottom: "data" top: "twice" concat_param { axis: 0 } }\n'
    prototxt, caffemodel = _files(tmp_path, body)
    with pytest.raises(ConversionError, match="'twice' \\(Concat\\) works along the batch axis"):
        run_ncnn(prototxt, caffemodel, {"data": np.zeros((1, 3, 9, 11), np.float32)}, ["twice"])


def test_an_unknown_layer_is_refused_by_name(tmp_path):
    body = 'layer { name: "boxes" type: "Crop" bottom: "data" top: "boxes" }\n'
    prototxt, caffemodel = _files(tmp_path, body)
    with pytest.raises(ConversionError, match="'boxes' \\(Crop\\) has no ncnn translation"):
        run_ncnn(prototxt, caffemodel, {"data": np.zeros((1, 3, 9, 11), np.float32)}, ["boxes"])


def test_a_batch_runs_sample_by_sample(tmp_path):
    body = ('layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 '
            'kernel_size: 3 } }\n')
    prototxt, caffemodel = _files(tmp_path, body, shape=(3, 3, 9, 11))
    _same_in_ncnn_and_opencv(prototxt, caffemodel, ["conv"], shape=(3, 3, 9, 11))


def test_floats_are_written_as_ncnn_reads_floats():
    """ncnn takes a value for a float only when it has a '.' or an exponent (a float 6 written "6" reads as the
    integer's bit pattern), within 15 characters; arrays are -23300-id=count,values."""
    assert _format_param(1, 6.0) == "1=6.00000000e+00" and len("-1.23456789e+00") == 15
    assert _format_param(0, 3) == "0=3"
    assert _format_param(1, [1.0, -0.5]) == "-23301=2,1.00000000e+00,-5.00000000e-01"
    assert _format_param(0, [2, 3]) == "-23300=2,2,3"


def test_every_layer_the_ncnn_targets_may_write_has_a_translation():
    """ncnn-native writes no layer that the translation would refuse for its type alone: legality and the dialect
    agree with the translators (a form of a layer may still be refused, by name, before any file is written)."""
    from backends import get_target
    from backends.ncnn_format import TRANSLATORS

    for target in ("ncnn", "ncnn-native"):
        assert get_target(target).layers <= set(TRANSLATORS), set(get_target(target).layers) - set(TRANSLATORS)
