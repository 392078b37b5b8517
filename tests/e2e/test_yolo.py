"""YOLOv3: the decoded boxes and scores are converted and verified, and the NMS that PREFIX.decode.json describes,
applied to the Caffe outputs, gives GluonCV's own detections (its box_nms run on the full MXNet net)."""
import re

import numpy as np
import pytest

from compiler.driver.cli import main
from tests.helpers import available_runtimes, cut_detector_run
from tests.needs import needs_zoo

pytestmark = needs_zoo


def _iou(box, others):
    x1, y1 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x2, y2 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


def nms(meta: dict, boxes: np.ndarray, scores: np.ndarray) -> list[tuple]:
    """The NMS written from the JSON's description, on one image's (4, P) boxes and (C, P) scores."""
    rule = meta["nms"]
    classes, candidates = np.nonzero(scores > rule["score_threshold"])
    order = np.argsort(-scores[classes, candidates], kind="stable")[:rule["topk_before"]]
    kept = []
    for i in order:
        cls, box = int(classes[i]), boxes[:, candidates[i]]
        same = [k for k in kept if k[0] == cls]
        if same and _iou(box, np.array([k[2] for k in same])).max() > rule["iou_threshold"]:
            continue
        kept.append((cls, float(scores[cls, candidates[i]]), box))
    return kept[:rule["keep"]]


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", [("yolo3_mobilenet0.25_voc", (1, 3, 320, 320))])
def test_yolo_decode_metadata_reproduces_gluoncv(tmp_path, name, shape):
    meta, outputs, (ids, scores, boxes) = cut_detector_run(name, shape, tmp_path)
    valid = ids[:, 0] >= 0
    expected = sorted((int(i), float(s), tuple(b)) for i, s, b in zip(ids[valid, 0], scores[valid, 0], boxes[valid]))
    assert len(expected) > 10
    for runtime, (caffe_boxes, caffe_scores) in outputs.items():
        found = sorted((c, s, tuple(b)) for c, s, b in nms(meta, caffe_boxes[0], caffe_scores[0]))
        assert len(found) == len(expected)
        scale = max(1.0, float(np.abs(boxes[valid]).max()))
        for (cls, score, box), (want_cls, want_score, want_box) in zip(found, expected):
            assert cls == want_cls and abs(score - want_score) <= 1e-4
            assert np.abs(np.array(box) - np.array(want_box)).max() <= 1e-4 * scale


def _detection_counts(out: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"detections: GluonCV (\d+), converted (\d+), matched (\d+)", out)]


@pytest.mark.slow
@pytest.mark.parametrize("target, code, shape", [("caffe-ssd", "CORNER", "1,3,320,320"),
                                                 ("ncnn", "CENTER_SIZE", "1,3,320,320"),
                                                 ("caffe-ssd", "CORNER", "2,3,256,352")])
def test_yolo_ends_in_detection_output_equal_to_gluoncv(tmp_path, capsys, target, code, shape):
    """On a target with DetectionOutput the model returns GluonCV's detections: the decoded boxes pass through an
    identity decode (zero priors with CORNER; unit priors and log-sizes with CENTER_SIZE, ncnn's only code), then
    the same per-class NMS. Every GluonCV detection of every image is matched within 1e-4 in score and box."""
    runtime = "all" if target == "caffe-ssd" else "opencv"   # the ncnn dialect runs in OpenCV
    code_ = main(["convert", "yolo3_mobilenet0.25_voc", "--input-shape", shape, "--target", target,
                  "--random-init", "0", "-o", str(tmp_path / "yolo"), "--verify", "--runtime", runtime])
    out = capsys.readouterr().out
    assert code_ == 0, out
    counts = _detection_counts(out)
    assert len(counts) == len(available_runtimes()) if runtime == "all" else len(counts) == 1, out
    assert all(g == c == m and g > 10 for g, c, m in counts), out
    assert ": equal" in out and "per class" in out, out
    text = (tmp_path / "yolo.prototxt").read_text()
    assert f"code_type: {code}" in text and "DummyData" not in text and "num_classes: 21" in text
    assert not (tmp_path / "yolo.decode.json").exists()   # nothing is left to the application


def test_ncnn_detection_output_decodes_center_size_only():
    """A DetectionOutput with CORNER decoding on ncnn is refused by legality (ncnn's layer always decodes
    CENTER_SIZE), not written as a model that would decode every box wrongly."""
    from backends import get_target
    from backends.legality import check
    from compiler.errors import IllegalForTarget
    from compiler.ir.graph import Graph
    from compiler.ir.types import DType, TensorType
    from compiler.ops.detection import DetectionOutput

    graph = Graph("corner")
    loc = graph.input("loc", TensorType((1, 8), DType.float32))
    conf = graph.input("conf", TensorType((1, 4), DType.float32))
    priors = graph.input("priors", TensorType((1, 2, 8), DType.float32))
    detection = DetectionOutput(num_classes=2, nms_threshold=0.45, top_k=2, keep_top_k=2, confidence_threshold=0.01,
                                code_type="CORNER")
    graph.outputs = [graph.add(detection, loc, conf, priors, name="detection_out").result]
    check(graph, get_target("caffe-ssd"))
    with pytest.raises(IllegalForTarget, match="decodes only CENTER_SIZE"):
        check(graph, get_target("ncnn"))


@pytest.mark.slow
def test_ncnn_native_yolo_layer_only_behind_its_option(tmp_path, capsys):
    """--ncnn-yolo-layer ends the ncnn model in ncnn's own Yolov3DetectionOutput fed the raw prediction convolutions:
    anchors, masks and strides from the net, reported as an approximation with its differences; the prediction blobs
    are verified. On another target the option is refused."""
    code = main(["convert", "yolo3_mobilenet0.25_voc", "--input-shape", "1,3,320,320", "--target", "ncnn",
                 "--ncnn-yolo-layer", "--random-init", "0", "-o", str(tmp_path / "yolo"), "--verify"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "approximation: ncnn's native Yolov3DetectionOutput" in out and "class-agnostic NMS" in out
    assert "warning: the output is an approximation" in out
    assert len(re.findall(r"prediction \S+ \(1, 75, \d+, \d+\).* ok", out)) == 3, out
    from tests.helpers import read_net

    layer = [l for l in read_net(str(tmp_path / "yolo.prototxt")).layer if l.type == "Yolov3DetectionOutput"]
    assert len(layer) == 1 and len(layer[0].bottom) == 3
    param = layer[0].yolov3_detection_output_param
    assert (param.num_classes, param.num_box, param.mask_group_num) == (20, 3, 3)
    assert list(param.anchors_scale) == [32, 16, 8] and list(param.mask) == list(range(9))
    assert list(param.biases)[:2] == [116.0, 90.0]   # GluonCV's largest anchors go with the stride-32 level
    code = main(["convert", "yolo3_mobilenet0.25_voc", "--input-shape", "1,3,320,320", "--target", "caffe-ssd",
                 "--ncnn-yolo-layer", "--random-init", "0", "-o", str(tmp_path / "other")])
    assert code == 2 and "exists only on the ncnn target" in capsys.readouterr().err
    assert not (tmp_path / "other.prototxt").exists()


@pytest.mark.slow
def test_ncnn_yolo_layer_runs_in_ncnn_as_its_semantics_say(tmp_path, capsys):
    """On ncnn-native the layer runs in the real ncnn: its detections equal what compiler/ops/ncnn_yolo.py says the
    layer computes on MXNet's own predictions (at a non-square input too), and the predictions equal MXNet's."""
    code = main(["convert", "yolo3_mobilenet0.25_voc", "--input-shape", "1,3,256,352", "--target", "ncnn-native",
                 "--ncnn-yolo-layer", "--random-init", "0", "-o", str(tmp_path / "yolo"), "--verify"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(re.findall(r"prediction \S+ \(1, 75, \d+, \d+\).* ok", out)) == 3, out
    found = re.search(r"detections: the layer's semantics on MXNet's predictions (\d+), converted (\d+), matched "
                      r"(\d+).*: equal", out)
    assert found and int(found[1]) == int(found[2]) == int(found[3]) > 0, out
    assert "Yolov3DetectionOutput" in (tmp_path / "yolo.param").read_text()


@pytest.mark.slow
def test_per_layer_verification_of_a_yolo_ending_in_detection_output(tmp_path, capsys):
    """verify --per-layer compares against the block that was imported for the target (the DetectionOutput cut),
    whose nodes the converted layers name."""
    common = ["yolo3_mobilenet0.25_voc", "--input-shape", "1,3,256,256", "--random-init", "0", "--target", "caffe-ssd"]
    assert main(["convert", *common, "-o", str(tmp_path / "yolo")]) == 0
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "yolo"), *common, "--per-layer"]) == 0
    out = capsys.readouterr().out
    assert "every compared blob is within tolerance" in out and re.search(r"\((\d{3,}) blobs", out), out
