import os
import pathlib
import tempfile

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from backends import get_target
from compiler.driver.api import compile_graph
from compiler.errors import OutputError
from compiler.frontend.symbol import import_symbol
from tests.helpers import convert_and_compare, random_params


def _compiled(merge_bn=True):
    from compiler.options import Options

    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv")
    bn = mx.sym.BatchNorm(mx.sym.relu(conv, name="relu"), fix_gamma=False, name="bn")
    symbol = mx.sym.FullyConnected(bn, num_hidden=5, name="fc")
    shapes = {"data": (1, 3, 6, 6)}
    with tempfile.TemporaryDirectory() as directory:
        # The files these tests write are also run against MXNet, so a format test never passes on wrong numbers.
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, directory, options=Options(merge_bn=merge_bn))
    graph = import_symbol(symbol, random_params(symbol, shapes), shapes)
    return compile_graph(graph, "caffe", Options(merge_bn=merge_bn))


def test_caffemodel_decodes_with_protobuf_and_holds_only_name_type_blobs(tmp_path):
    compiled = _compiled(merge_bn=False)
    _, caffemodel = compiled.save(str(tmp_path / "m"))
    net = get_target("caffe").proto.NetParameter()
    net.ParseFromString(pathlib.Path(caffemodel).read_bytes())
    with_blobs = [layer for layer in compiled.layers if layer.blobs]
    assert [layer.name for layer in net.layer] == [layer.name for layer in with_blobs]
    for message, layer in zip(net.layer, with_blobs):
        assert message.type == layer.type and not message.bottom and not message.top
        assert not message.HasField("convolution_param")
        for blob, array in zip(message.blobs, layer.blobs):
            assert tuple(blob.shape.dim) == array.shape
            assert np.array_equal(np.array(blob.data, np.float32).reshape(array.shape), array)
    bn = [m for m in net.layer if m.type == "BatchNorm"][0]
    assert list(bn.blobs[2].data) == [1.0]


def test_prototxt_holds_no_blobs_and_explicit_batchnorm_eps(tmp_path):
    compiled = _compiled(merge_bn=False)
    prototxt, _ = compiled.save(str(tmp_path / "m"))
    text = pathlib.Path(prototxt).read_text()
    assert "blobs" not in text and "use_global_stats: true" in text and "eps: 0.001" in text


def test_reruns_are_byte_identical(tmp_path):
    first = _compiled().save(str(tmp_path / "a"))
    second = _compiled().save(str(tmp_path / "b"))
    for x, y in zip(first, second):
        assert pathlib.Path(x).read_bytes().replace(b'"a"', b"") == pathlib.Path(y).read_bytes().replace(b'"b"', b"")


def test_missing_directory_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        _compiled().save(str(tmp_path / "nowhere" / "m"))
    assert not (tmp_path / "nowhere").exists()


def test_failed_write_leaves_no_partial_files_and_keeps_the_old_pair(tmp_path):
    compiled = _compiled()
    prototxt, caffemodel = compiled.save(str(tmp_path / "m"))
    before = (pathlib.Path(prototxt).read_bytes(), pathlib.Path(caffemodel).read_bytes())

    class Exploding:
        layers = []

        def write_to(self, stream):
            stream.write(b"partial")
            raise OSError(28, "No space left on device")

    from backends.writer import write_files

    with pytest.raises(OutputError, match="No space left"):
        write_files(str(tmp_path / "m"), "broken", Exploding())
    assert (pathlib.Path(prototxt).read_bytes(), pathlib.Path(caffemodel).read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["m.caffemodel", "m.prototxt"]


def test_unwritable_directory_is_an_error(tmp_path, monkeypatch):
    import tempfile

    # Root (as in CI) ignores directory permissions, so simulate what a read-only directory does to mkstemp.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        _compiled().save(str(tmp_path / "m"))
    assert list(tmp_path.iterdir()) == []


def test_written_files_respect_the_umask(tmp_path):
    prototxt, caffemodel = _compiled().save(str(tmp_path / "m"))
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(prototxt).st_mode & 0o777 == 0o666 & ~mask
