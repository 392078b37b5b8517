import pathlib

import pytest


def test_generated_modules_match_the_proto_files(tmp_path):
    pytest.importorskip("grpc_tools", reason="regenerating needs grpcio-tools (the test extra)")
    from backends.proto.generate import HERE, generate

    for written in generate(tmp_path):
        committed = HERE / written.name
        assert committed.read_text() == written.read_text(), f"{committed.name} is stale: run python -m backends.proto.generate"


def test_field_numbers_are_caffes():
    from backends.proto import caffe_bvlc_pb2 as pb

    layer = pb.LayerParameter.DESCRIPTOR.fields_by_name
    expected = {"name": 1, "type": 2, "bottom": 3, "top": 4, "blobs": 7, "concat_param": 104,
                "convolution_param": 106, "eltwise_param": 110, "inner_product_param": 117, "pooling_param": 121,
                "power_param": 122, "relu_param": 123, "softmax_param": 125, "slice_param": 126,
                "prelu_param": 131, "reshape_param": 133, "flatten_param": 135, "batch_norm_param": 139,
                "elu_param": 140, "scale_param": 142, "input_param": 143}
    assert {k: layer[k].number for k in expected} == expected
    assert pb.NetParameter.DESCRIPTOR.fields_by_name["layer"].number == 100
    assert pb.BlobProto.DESCRIPTOR.fields_by_name["data"].number == 5
    assert pb.BlobProto.DESCRIPTOR.fields_by_name["shape"].number == 7
    assert pb.ConvolutionParameter.DESCRIPTOR.fields_by_name["dilation"].number == 18
    assert pb.BatchNormParameter.DESCRIPTOR.fields_by_name["eps"].number == 3
    assert pathlib.Path(pb.__file__).with_name("caffe_bvlc.proto").exists()
