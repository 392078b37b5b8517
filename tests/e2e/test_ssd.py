"""GluonCV SSD → caffe-ssd: priors, loc/conf tensors and final detections checked in OpenCV against GluonCV.

The random nets get well-separated detections (the SSD family's tune): at most 200 (anchor, class) rows
pass the 0.01 threshold, so GluonCV's all-class nms_topk=400 never binds and both sides run the same NMS —
the identical-settings configuration the report describes."""
import re

import pytest

from compiler.driver.cli import main
from tests.helpers import available_runtimes
from tests.needs import needs_zoo

pytestmark = needs_zoo

ZOO = ["ssd_300_vgg16_atrous_voc", "ssd_512_resnet50_v1_voc", "ssd_512_mobilenet1.0_voc"]


def _numbers(out: str, label: str) -> list[float]:
    return [float(v) for v in re.findall(label + r".*?relative ([0-9.e+-]+)", out)]


def _check_ssd_output(out: str) -> None:
    assert "priors vs anchors" in out and max(_numbers(out, "priors vs anchors")) <= 1e-6, out
    assert max(_numbers(out, r"  loc ")) <= 1e-4 and max(_numbers(out, "conf")) <= 1e-4, out
    match = re.search(r"detections: GluonCV (\d+), converted (\d+), matched (\d+)", out)
    assert match and int(match.group(1)) == int(match.group(2)) == int(match.group(3)) > 10, out
    assert ": equal" in out


@pytest.mark.slow
@pytest.mark.parametrize("model", ZOO)
def test_zoo_ssd_matches_gluoncv(tmp_path, capsys, model, runtime):
    # weiliu89's caffe-ssd (the pycaffe) truncates fractional sizes: such levels get constant priors, or PriorBox
    # with every size scaled to an integer under --ssd-integer-sizes (exact in caffe-ssd only).
    integer_sizes = runtime == "caffe" and model == "ssd_512_resnet50_v1_voc"
    flags = ["--ssd-integer-sizes"] if integer_sizes else []
    code = main(["convert", model, "--target", "caffe-ssd", "--random-init", "0", "-o", str(tmp_path / "ssd"),
                 "--to-bgr", "--verify", "--report", "--runtime", runtime, *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    _check_ssd_output(out)
    assert "per class" in out and "grouped by label" in out   # the remaining differences are reported
    text = (tmp_path / "ssd.prototxt").read_text()
    fields = ["code_type: CENTER_SIZE", "share_location: true", "background_label_id: 0", "nms_threshold: 0.45",
              "keep_top_k: 100", "confidence_threshold: 0.01"]
    if model == "ssd_300_vgg16_atrous_voc" or integer_sizes:   # integer sizes: PriorBox layers
        fields += ["clip: false", "variance: 0.2", "flip: false", "step:", "offset: 0.5"]
    for field in fields:
        assert field in text, field
    if model == "ssd_300_vgg16_atrous_voc":
        assert 'type: "Normalize"' in text and "across_spatial: false" in text
    if model.startswith("ssd_512"):
        if integer_sizes:
            assert "scaled by" in out and 'type: "PriorBox"' in text
        else:
            assert "which caffe-ssd truncates" in out and "bias of a zero-weight InnerProduct" in out


@pytest.mark.slow
@pytest.mark.parametrize("target", ["caffe-ssd", "ncnn"])
def test_lite_anchors_no_priorbox_makes_come_as_constant_priors(tmp_path, capsys, target):
    """ssd_300_mobilenet1.0_lite_coco: ratio boxes not built on min_size; those levels' priors are constants."""
    runtime = "all" if target == "caffe-ssd" and "caffe" in available_runtimes() else "opencv"
    code = main(["convert", "ssd_300_mobilenet1.0_lite_coco", "--target", target, "--random-init", "0",
                 "-o", str(tmp_path / "lite"), "--verify", "--report", "--runtime", runtime])
    out = capsys.readouterr().out
    assert code == 0, out
    _check_ssd_output(out)
    assert out.count(": equal") == (2 if runtime == "all" else 1)
    assert "bias of a zero-weight InnerProduct" in out
    assert 'type: "DetectionOutput"' in (tmp_path / "lite.prototxt").read_text()


def custom_ssd():
    """The README's custom SSD: MobileNetV2 features, 3 classes, SSD-512 sizes, ratios and steps."""
    from gluoncv.model_zoo import SSD

    return SSD(network="mobilenetv2_1.0", base_size=512,
               features=["features_linearbottleneck12_elemwise_add0_output", "features_relu61_relu6_output"],
               num_filters=[512, 256, 256, 128], sizes=[51.2, 102.4, 189.4, 276.4, 363.52, 450.6, 492],
               ratios=[[1, 2, 0.5]] + [[1, 2, 0.5, 3, 1.0 / 3]] * 3 + [[1, 2, 0.5]] * 2,
               steps=[16, 32, 64, 128, 256, 512], classes=["cat", "dog", "person"], pretrained=False)


@pytest.mark.slow
def test_custom_mobilenetv2_ssd_through_the_seed_api(tmp_path, runtime):
    from compiler import convert_ssd_model, save_model
    from compiler.driver.families import family_named
    from compiler.driver.zoo import randomize
    from tests.helpers import verify_written

    net = custom_ssd()
    randomize(net, 5, (1, 3, 512, 512))
    family_named("ssd").tune(net, 5, (1, 3, 512, 512))
    text_net, weights = convert_ssd_model(net, input_shape=(1, 3, 512, 512), to_bgr=True,
                                          integer_sizes=runtime == "caffe")
    # Fractional sizes: constant priors, or six PriorBox layers with the sizes scaled to integers.
    assert [l.type for l in text_net.layer].count("PriorBox") == (6 if runtime == "caffe" else 0)
    assert [l for l in text_net.layer if l.type == "DetectionOutput"][0].detection_output_param.num_classes == 4
    prefix = str(tmp_path / "custom")
    save_model(text_net, weights, prefix)
    result = verify_written(net, (1, 3, 512, 512), prefix, runtime, "caffe-ssd", seed=3, to_bgr=True,
                            ssd_integer_sizes=runtime == "caffe")
    assert result.ok, "\n".join(result.lines())
    assert result.detections.reference_count > 10


@pytest.mark.slow
def test_ssd_ncnn_flavour(tmp_path, capsys):
    from backends import get_target
    from tests.helpers import strict_parse

    code = main(["convert", "ssd_512_mobilenet1.0_voc", "--target", "ncnn", "--random-init", "0",
                 "-o", str(tmp_path / "ssd"), "--verify"])
    out = capsys.readouterr().out
    assert code == 0, out
    _check_ssd_output(out)
    net = strict_parse(str(tmp_path / "ssd.prototxt"), get_target("ncnn").proto)
    detection = [layer for layer in net.layer if layer.type == "DetectionOutput"][0].detection_output_param
    assert detection.nms_param.top_k > 0 and detection.keep_top_k > 0


@pytest.mark.slow
def test_ssd_symbol_files_convert_and_verify(tmp_path, capsys):
    import mxnet as mx

    from compiler.driver.zoo import random_zoo_model

    net = random_zoo_model("ssd_512_mobilenet1.0_voc", 2)
    net.hybridize()
    net(mx.nd.zeros((1, 3, 512, 512)))
    net.export(str(tmp_path / "ssd"))
    code = main(["convert", str(tmp_path / "ssd-symbol.json"), "--params", str(tmp_path / "ssd-0000.params"),
                 "--input-shape", "1,3,512,512", "--target", "caffe-ssd", "-o", str(tmp_path / "out"), "--verify"])
    out = capsys.readouterr().out
    assert code == 0, out
    _check_ssd_output(out)


@pytest.mark.slow
def test_pretrained_style_minimal_opset_decoder(tmp_path, runtime):
    """Pretrained GluonCV SSDs decode boxes with a dozen elementary ops (minimal_opset=True); the live net converts
    (PriorBoxes from the anchors), and so does an exported symbol file of it (its own decoder layers, then
    DetectionOutput as NMS only: tests/e2e/test_exported_detectors.py)."""
    import mxnet as mx

    from compiler import convert_ssd_model, save_model
    from compiler.driver.cli import main as cli
    from compiler.driver.zoo import random_zoo_model
    from tests.helpers import verify_written

    net = random_zoo_model("ssd_512_mobilenet1.0_voc", 4)
    net.bbox_decoder._minimal_opset, net.bbox_decoder._clip = True, None   # as get_model(pretrained=True) builds it
    text_net, weights = convert_ssd_model(net, input_shape=(1, 3, 512, 512), to_bgr=False,
                                          integer_sizes=runtime == "caffe")
    assert net.bbox_decoder._minimal_opset and net.bbox_decoder._clip is None   # the user's net is left as it was
    save_model(text_net, weights, str(tmp_path / "ssd"))
    result = verify_written(net, (1, 3, 512, 512), str(tmp_path / "ssd"), runtime, "caffe-ssd", seed=1,
                            ssd_integer_sizes=runtime == "caffe")
    assert result.ok, "\n".join(result.lines())

    net.hybridize()
    net(mx.nd.zeros((1, 3, 512, 512)))
    net.export(str(tmp_path / "pretrained"))
    code = cli(["convert", str(tmp_path / "pretrained-symbol.json"), "--params", str(tmp_path / "pretrained-0000.params"),
                "--input-shape", "1,3,512,512", "--target", "caffe-ssd", "-o", str(tmp_path / "out"), "--verify",
                "--runtime", runtime])
    assert code == 0 and "PriorBox" not in (tmp_path / "out.prototxt").read_text()


@pytest.mark.slow
def test_custom_zoo_detector_takes_the_classes(tmp_path, capsys):
    code = main(["convert", "ssd_300_mobilenet0.25_custom", "--target", "caffe-ssd", "--random-init", "0",
                 "--classes", "cat,dog", "-o", str(tmp_path / "custom"), "--verify"])
    out = capsys.readouterr().out
    assert code == 0, out
    _check_ssd_output(out)
    assert "num_classes: 3" in (tmp_path / "custom.prototxt").read_text()   # two classes and the background


def test_classes_must_be_distinct_names(capsys):
    assert main(["convert", "ssd_300_mobilenet0.25_custom", "--random-init", "0", "--classes", "cat,,dog",
                 "-o", "unused"]) == 2
    assert "distinct names" in capsys.readouterr().err


def test_a_box_decode_graph_on_vanilla_caffe_is_refused_with_a_pointer_to_caffe_ssd():
    """The IR of an SSD traced for caffe-ssd (one box_decode op, what fuse_ssd_head makes PriorBoxes of) cannot be
    written for BVLC Caffe; a zoo SSD converted for caffe is traced the other way (the next test)."""
    from compiler.driver.api import compile_graph, import_model
    from compiler.driver.zoo import get_zoo_model
    from compiler.errors import UnsupportedOp

    net = get_zoo_model("ssd_512_mobilenet1.0_voc")
    net.initialize()
    graph = import_model(net, (1, 3, 512, 512), target="caffe-ssd")
    with pytest.raises(UnsupportedOp, match="--target caffe-ssd"):
        compile_graph(graph, "caffe")


@pytest.mark.slow
def test_zoo_ssd_on_bvlc_caffe_ends_in_boxes_and_scores(tmp_path, capsys, runtime):
    """BVLC Caffe has no PriorBox or DetectionOutput: the zoo SSD is traced with the minimal-opset decoder, ends in
    decoded boxes and class scores, and PREFIX.decode.json's NMS on the runtime's outputs gives GluonCV's detections.
    The net's decoder flags are left as they were (box_decode, its clip rewritten to -1)."""
    import json

    from compiler.driver.api import compile_model
    from compiler.driver.zoo import random_zoo_model

    code = main(["convert", "ssd_300_mobilenet0.25_voc", "--random-init", "0", "-o", str(tmp_path / "ssd"),
                 "--verify", "--runtime", runtime])
    out = capsys.readouterr().out
    assert code == 0, out
    match = re.search(r"detections: GluonCV (\d+), converted (\d+), matched (\d+)", out)
    assert match and int(match.group(1)) == int(match.group(2)) == int(match.group(3)) > 10, out
    decode = json.loads((tmp_path / "ssd.decode.json").read_text())
    assert decode["model"] == "box_nms" and decode["layout"]["input_hw"] == [300, 300]
    text = (tmp_path / "ssd.prototxt").read_text()
    assert "PriorBox" not in text and "DetectionOutput" not in text

    net = random_zoo_model("ssd_300_mobilenet0.25_voc", 0)
    before = (net.bbox_decoder._minimal_opset, net.bbox_decoder._clip)
    compile_model(net, (1, 3, 300, 300), target="caffe")
    assert (net.bbox_decoder._minimal_opset, net.bbox_decoder._clip) == before
