"""Per-target dialects: what each emits, strict parsing against its schema, and its legality errors."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import get_target, target_names
from compiler.errors import IllegalForTarget
from compiler.options import Options
from tests.helpers import convert_and_compare, layer_types, random_params

SHAPES = {"data": (1, 3, 9, 9)}


def _conv(x, name="conv", filters=4):
    return mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=filters, name=name)


def test_five_targets_with_declared_dialects():
    assert target_names() == ["caffe", "caffe-ssd", "ncnn", "ncnn-native", "rknn"]
    caffe, ssd, ncnn, rknn = (get_target(n) for n in ("caffe", "caffe-ssd", "ncnn", "rknn"))
    assert ssd.layers - caffe.layers == {"Permute", "PriorBox", "DetectionOutput", "Normalize"}
    # rknn-toolkit2 drops ELU, Exp and Silence and reads caffe-ssd's Permute (docs/rknn.md): BVLC Caffe without them,
    # with Permute for some orders, no per-axis Scale, at most 4-D blobs
    assert caffe.layers - rknn.layers == {"ELU", "Exp", "Silence"} and rknn.layers - caffe.layers == {"Permute"}
    assert rknn.can_permute((0, 2, 3, 1)) and not rknn.can_permute((0, 2, 1, 3)) and not rknn.can_permute((1, 0))
    assert ncnn.can_permute((0, 2, 1, 3)) and ncnn.can_permute((0, 2, 1)) and not ncnn.can_permute((0, 2, 1, 3, 4))
    assert ssd.can_permute((2, 0, 1)) and not caffe.can_permute((0, 2, 3, 1))
    assert not rknn.policy.axis_params and rknn.policy.max_rank == 4 and not rknn.policy.unit_window_pooling
    assert ncnn.layers - ssd.layers == {"ReLU6", "Yolov3DetectionOutput"}
    assert ncnn.policy.detection_codes == ("CENTER_SIZE",) and "CORNER" in ssd.policy.detection_codes
    # ncnn-native computes what the ncnn target's layers compute and writes ncnn's own files instead of Caffe's
    native = get_target("ncnn-native")
    ncnn_only = {"MatMul", "DeformableConv2D", "Interp", "Clip", "HardSigmoid", "HardSwish", "ShuffleChannel"}
    assert native.policy == ncnn.policy and native.layers - ncnn.layers == ncnn_only and ncnn.layers < native.layers
    assert native.files.paths("m") == ("m.param", "m.bin") and ncnn.files.paths("m") == ("m.prototxt", "m.caffemodel")
    assert ssd.policy.prior_box_truncates_sizes and not ncnn.policy.prior_box_truncates_sizes
    assert caffe.policy.inplace and not ncnn.policy.inplace
    for target in (caffe, ssd, ncnn):
        layer = target.proto.LayerParameter.DESCRIPTOR.fields_by_name
        assert "round_mode" not in target.proto.PoolingParameter.DESCRIPTOR.fields_by_name
        assert ("prior_box_param" in layer) == (target is not caffe)
        if target is not caffe:
            assert layer["prior_box_param"].number == 203 and layer["permute_param"].number == 202


@pytest.mark.parametrize("target", ["caffe", "caffe-ssd", "ncnn"])
def test_every_target_parses_strictly_and_matches(tmp_path, target):
    x = mx.sym.clip(_conv(mx.sym.var("data")), 0, 6, name="relu6")
    x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", name="pool")
    symbol = mx.sym.FullyConnected(mx.sym.relu(x, name="relu"), num_hidden=5, name="fc")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path, target=target)
    types = layer_types(compiled)
    assert ("ReLU6" in types) == (target == "ncnn")
    # ncnn averages without the padding: the exact form is a depthwise convolution of 1/k² weights.
    assert ("Pooling" in types) == (target != "ncnn")
    if target == "ncnn":
        for layer in compiled.layers:
            assert not set(layer.tops) & set(layer.bottoms), f"{layer.name} is in place"
    else:
        assert any(set(layer.tops) & set(layer.bottoms) for layer in compiled.layers)


def test_caffe_legality_error(tmp_path):
    symbol = mx.sym.transpose(_conv(mx.sym.var("data")), axes=(1, 0, 2, 3), name="nhwc")   # moves the batch
    shapes = {"data": (2, 3, 9, 9)}
    with pytest.raises(IllegalForTarget, match=r"nhwc \(transpose\).*Permute.*caffe-ssd"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="caffe")


def test_caffe_ssd_legality_error(tmp_path):
    symbol = mx.sym.LeakyReLU(_conv(mx.sym.var("data")), act_type="gelu", name="gelu")
    with pytest.raises(IllegalForTarget, match=r"gelu \(LeakyReLU\).*GELU"):
        convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path, target="caffe-ssd")


def test_ncnn_legality_error_lists_every_offender(tmp_path):
    data = mx.sym.var("data")
    swapped = mx.sym.transpose(_conv(data), axes=(2, 1, 0, 3), name="batch_last")
    dense = mx.sym.FullyConnected(_conv(data, "c2"), num_hidden=3, flatten=False, name="last_axis_fc")
    symbol = mx.sym.Group([swapped, dense])
    with pytest.raises(IllegalForTarget) as info:
        convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path, target="ncnn")
    message = str(info.value)
    assert "2 op(s)" in message and "batch_last" in message and "last_axis_fc" in message
    assert list(tmp_path.iterdir()) == []
    # The same graph is fine where Permute takes any order and InnerProduct honours its axis.
    convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path, target="caffe-ssd",
                        options=Options())


def test_ncnn_refuses_a_rounded_up_padded_average(tmp_path):
    symbol = mx.sym.Pooling(_conv(mx.sym.var("data")), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                            pooling_convention="full", name="ceil_avg")
    shapes = {"data": (1, 3, 8, 8)}
    with pytest.raises(IllegalForTarget, match="ceil_avg.*averages without the padding"):
        convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target="ncnn")


def test_ncnn_caffemodel_names_every_scale_even_without_blobs(tmp_path):
    """caffe2ncnn reads a Scale's blob count from the caffemodel entry of the same name and dereferences a missing
    entry (a segmentation fault on the two-bottom Scale of an SE gate, found by running real caffe2ncnn): on ncnn
    every Scale gets an entry, blob-less or not; the other targets keep writing only layers with blobs. Both files
    still compute the gate exactly (OpenCV against MXNet)."""
    import mxnet as mx

    from backends.schema import reader
    from compiler.driver.api import compile_graph
    from compiler.driver.verify import compare_outputs, random_inputs, run_runtime
    from compiler.frontend.symbol import import_symbol
    from tests.helpers import mxnet_outputs, random_params

    x = mx.sym.var("data")
    y = mx.sym.Convolution(x, kernel=(1, 1), num_filter=4, name="conv")
    gate = mx.sym.sigmoid(mx.sym.mean(y, axis=(2, 3), keepdims=True), name="gate")
    symbol = mx.sym.broadcast_mul(y, gate, name="excite")
    shapes = {"data": (1, 4, 6, 6)}
    params = random_params(symbol, shapes)
    for target, expect_all in (("ncnn", True), ("caffe", False)):
        compiled = compile_graph(import_symbol(symbol, params, shapes), target)
        _, caffemodel = compiled.save(str(tmp_path / target))
        scales = [layer.name for layer in compiled.layers if layer.type == "Scale" and not layer.blobs]
        assert scales, [layer.type for layer in compiled.layers]
        with open(caffemodel, "rb") as f:
            entries = {layer.name for layer in reader().NetParameter.FromString(f.read()).layer}
        assert all(name in entries for name in scales) == expect_all, (target, scales, entries)
        inputs = random_inputs(shapes, 0)
        (result,) = compare_outputs(["out"], mxnet_outputs(symbol, params, inputs),
                                    run_runtime("opencv", str(tmp_path / f"{target}.prototxt"), caffemodel, inputs,
                                                compiled.output_layers))
        assert result.ok, str(result)


def test_ncnn_global_pooling_keeps_its_result_an_image(tmp_path):
    """ncnn's global pooling returns a flat (C,) blob, and a grouped convolution after it (PSP's and DeepLab's
    image-pooling branches) then mixed the channels: 0.22 relative off in real ncnn. On ncnn the window is written
    out instead (same numbers, checked in OpenCV); the other targets keep global_pooling."""
    import mxnet as mx

    from compiler.driver.api import compile_graph
    from compiler.driver.verify import compare_outputs, random_inputs, run_runtime
    from compiler.frontend.symbol import import_symbol
    from tests.helpers import random_params

    x = mx.sym.var("data")
    pooled = mx.sym.Pooling(x, global_pool=True, kernel=(1, 1), pool_type="avg", name="pool")
    symbol = mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=8, num_group=4, name="grouped")
    shapes = {"data": (1, 4, 6, 5)}
    params = random_params(symbol, shapes)
    inputs = random_inputs(shapes, 0)
    reference = mx.nd.Convolution(mx.nd.mean(mx.nd.array(inputs["data"]), axis=(2, 3), keepdims=True),
                                  mx.nd.array(params["grouped_weight"]), mx.nd.array(params["grouped_bias"]),
                                  kernel=(1, 1), num_filter=8, num_group=4).asnumpy()
    for target in ("ncnn", "caffe"):
        compiled = compile_graph(import_symbol(symbol, params, shapes), target)
        prototxt, caffemodel = compiled.save(str(tmp_path / target))
        text = open(prototxt).read()
        assert ("global_pooling: true" in text) == (target != "ncnn"), text
        if target == "ncnn":
            assert "kernel_h: 6" in text and "kernel_w: 5" in text, text
        (result,) = compare_outputs(["out"], [reference],
                                    run_runtime("opencv", prototxt, caffemodel, inputs, compiled.output_layers))
        assert result.ok, str(result)
