"""The one schema source: Caffe's own field numbers, each dialect's layers, and valid .proto text for protoc."""
import pytest

from backends import schema


def test_field_numbers_are_caffes():
    pb = schema.dialect("caffe")
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
    assert pb.PoolingParameter.DESCRIPTOR.fields_by_name["pool"].default_value == 0   # MAX
    ssd = schema.dialect("caffe-ssd")
    assert ssd.LayerParameter.DESCRIPTOR.fields_by_name["detection_output_param"].number == 204
    code = ssd.DetectionOutputParameter.DESCRIPTOR.fields_by_name["code_type"]
    assert code.enum_type.values_by_name["CENTER_SIZE"].number == 2 and code.default_value == 1   # CORNER


def test_each_dialect_has_only_its_consumers_layers_and_fields():
    caffe, ssd, ncnn = (schema.dialect(n) for n in ("caffe", "caffe-ssd", "ncnn"))
    assert ssd.layers - caffe.layers == {"Permute", "PriorBox", "DetectionOutput", "Normalize"}
    assert ncnn.layers - ssd.layers == {"ReLU6", "Yolov3DetectionOutput"}
    # caffe2ncnn's caffe.proto numbers: LayerParameter field 603, then num_classes 1 … mask 8
    assert ncnn.LayerParameter.DESCRIPTOR.fields_by_name["yolov3_detection_output_param"].number == 603
    yolo = ncnn.Yolov3DetectionOutputParameter.DESCRIPTOR.fields_by_name
    assert {name: yolo[name].number for name in ("num_classes", "biases", "anchors_scale", "mask_group_num", "mask")} \
        == {"num_classes": 1, "biases": 5, "anchors_scale": 6, "mask_group_num": 7, "mask": 8}
    assert "prior_box_param" not in caffe.LayerParameter.DESCRIPTOR.fields_by_name
    assert not hasattr(caffe, "PriorBoxParameter")
    for d in (caffe, ssd, ncnn):
        assert "round_mode" not in d.PoolingParameter.DESCRIPTOR.fields_by_name


@pytest.mark.parametrize("name", schema.DIALECTS)
def test_rendered_proto_compiles_to_the_same_descriptor(tmp_path, name):
    """The .proto text is what a person reads; protoc must accept it and build exactly our descriptors."""
    protoc = pytest.importorskip("grpc_tools.protoc", reason="protoc comes with grpcio-tools (the test extra)")
    from google.protobuf import descriptor_pb2

    dialect = schema.dialect(name)
    source = tmp_path / "dialect.proto"
    source.write_text(dialect.proto_text())
    out = tmp_path / "set.pb"
    assert protoc.main(["protoc", f"-I{tmp_path}", f"--descriptor_set_out={out}", str(source)]) == 0
    compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    for message in compiled.message_type:
        for field in message.field:
            field.ClearField("json_name")   # protoc fills in JSON names, which no Caffe reader uses
    ours = schema.file_descriptor(name)
    assert [m.SerializeToString(deterministic=True) for m in compiled.message_type] == \
        [m.SerializeToString(deterministic=True) for m in ours.message_type]
