import pathlib

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
from google.protobuf import text_format

from backends import get_target
from compiler.errors import ConversionError, IllegalForTarget
from tests.helpers import convert_and_compare, random_params


def test_target_declares_only_bvlc_1_0_layers():
    target = get_target("caffe")
    assert not target.layers & {"Permute", "PriorBox", "DetectionOutput", "Normalize", "ReLU6", "Clip", "Interp",
                                "Swish", "Upsample"}


def test_schema_rejects_fields_bvlc_1_0_lacks():
    for text in ('layer { name: "p" type: "Pooling" pooling_param { round_mode: FLOOR } }',
                 'layer { name: "p" type: "Pooling" pooling_param { ceil_mode: false } }',
                 'layer { name: "c" type: "Clip" clip_param { min: 0 max: 6 } }'):
        with pytest.raises(text_format.ParseError):
            text_format.Parse(text, get_target("caffe").proto.NetParameter())


def test_legality_error_lists_every_offending_op_before_writing(tmp_path):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv")
    first = mx.sym.transpose(conv, axes=(1, 0, 2, 3), name="to_nhwc")   # moves the batch axis
    second = mx.sym.LeakyReLU(conv, act_type="gelu", name="gelu")
    third = mx.sym.Pooling(conv, kernel=(2, 2), pool_type="lp", p_value=3, name="lp")
    symbol = mx.sym.Group([first, second, third])
    shapes = {"data": (2, 3, 4, 4)}
    with pytest.raises(IllegalForTarget) as info:
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)
    message = str(info.value)
    for name in ("to_nhwc (transpose)", "gelu (LeakyReLU)", "lp (Pooling)"):
        assert name in message
    assert "3 op(s)" in message
    assert list(pathlib.Path(tmp_path).iterdir()) == []


def test_unknown_target_is_an_error():
    with pytest.raises(ConversionError, match="unknown target"):
        get_target("tensorrt")
