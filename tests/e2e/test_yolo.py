"""YOLOv3: the decoded boxes and scores are converted and verified, and the NMS that PREFIX.decode.json describes,
applied to the Caffe outputs, gives GluonCV's own detections (its box_nms run on the full MXNet net)."""
import numpy as np
import pytest

from tests.helpers import cut_detector_run


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
