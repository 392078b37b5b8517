"""The NumPy meaning (`evaluate`) of the detection ops against the runtimes they stand for: BoxNMS against MXNet's
own _contrib_box_nms (bit for bit, ties included), DetectionOutput against caffe-ssd's layer in pycaffe (bit for
bit) and OpenCV's dnn (the same detections in OpenCV's form), Yolov3DetectionOutput against ncnn's layer (to a few
float32 ulps: ncnn is built with -ffast-math). The hand-made cases hold the semantics found in the sources and run
without any runtime."""
import os
import tempfile

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.ir.graph import Graph
from compiler.ir.interpreter import run_graph
from compiler.ir.types import DType, TensorType
from compiler.ops import reference
from compiler.ops.detection import BoxNMS, DetectionOutput
from compiler.ops.ncnn_yolo import Yolov3DetectionOutput

# --------------------------------------------------------------------------------------------------------------------
# BoxNMS


def _nms(rows, **fields) -> np.ndarray:
    return BoxNMS(**fields).evaluate(np.asarray(rows, np.float32))


def test_box_nms_ties_in_score_keep_row_order_and_suppress_by_strict_iou():
    # rows [id, score, x1, y1, x2, y2]; rows 0 and 2 tie in score: the earlier row comes first and suppresses
    rows = [[0, 0.5, 0, 0, 2, 2],
            [0, 0.9, 10, 10, 11, 11],
            [0, 0.5, 0, 0, 2, 1],      # IoU with row 0 is exactly 0.5: not > 0.5, kept
            [0, 0.5, 0, 0, 2, 2]]      # identical to row 0: suppressed
    out = _nms(rows, overlap_thresh=0.5, id_index=0)
    np.testing.assert_array_equal(out, np.asarray([rows[1], rows[0], rows[2], [-1] * 6], np.float32))
    out = _nms(rows, overlap_thresh=0.49, id_index=0)
    np.testing.assert_array_equal(out, np.asarray([rows[1], rows[0], [-1] * 6, [-1] * 6], np.float32))


def test_box_nms_valid_threshold_is_strict_and_background_rows_are_dropped():
    rows = [[1, 0.25, 0, 0, 1, 1], [0, 0.3, 2, 2, 3, 3], [1, 0.3, 4, 4, 5, 5]]
    out = _nms(rows, valid_thresh=0.25, id_index=0, background_id=0)
    np.testing.assert_array_equal(out, np.asarray([rows[2], [-1] * 6, [-1] * 6], np.float32))
    # without an id column every row above the threshold is valid, and boxes of other ids suppress each other
    both = [[1, 0.3, 0, 0, 1, 1], [2, 0.2, 0, 0, 1, 1]]
    np.testing.assert_array_equal(_nms(both), np.asarray([both[0], [-1] * 6], np.float32))
    np.testing.assert_array_equal(_nms(both, id_index=0), np.asarray(both, np.float32))
    np.testing.assert_array_equal(_nms(both, id_index=0, force_suppress=True), np.asarray([both[0], [-1] * 6],
                                                                                           np.float32))


def test_box_nms_topk_per_batch_and_topk_zero_copies_the_input():
    rows = np.asarray([[[0, s, 3 * i, 0, 3 * i + 1, 1] for i, s in enumerate((0.1, 0.4, 0.3))]] * 2, np.float32)
    out = _nms(rows, topk=2)
    for batch in out:
        np.testing.assert_array_equal(batch, np.asarray([rows[0, 1], rows[0, 2], [-1] * 6], np.float32))
    np.testing.assert_array_equal(_nms(rows, topk=0, in_format="center", out_format="corner"), rows)


def test_box_nms_format_change_skips_rows_whose_first_coordinate_is_negative():
    rows = [[0, 0.9, 1, 1, 3, 5], [0, 0.8, -4, 0, -2, 2]]
    out = _nms(rows, out_format="center")
    np.testing.assert_array_equal(out, np.asarray([[0, 0.9, 2, 3, 2, 4], rows[1]], np.float32))


LAYOUTS = [  # (coord_start, score_index, id_index, width)
    (2, 1, 0, 6), (2, 1, -1, 6), (0, 4, 5, 6), (3, 0, -1, 7), (1, 6, 0, 7), (0, 5, 4, 7)]


@st.composite
def box_nms_cases(draw):
    coord_start, score_index, id_index, width = draw(st.sampled_from(LAYOUTS))
    fields = dict(coord_start=coord_start, score_index=score_index, id_index=id_index,
                 overlap_thresh=draw(st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 0.7, 1.0])),
                 valid_thresh=draw(st.sampled_from([-1.0, 0.0, 0.25, 0.5])),
                 topk=draw(st.sampled_from([-1, 0, 1, 3, 17, 1000])),
                 background_id=draw(st.sampled_from([-1, 0, 1])),
                 force_suppress=draw(st.booleans()),
                 in_format=draw(st.sampled_from(["corner", "center"])),
                 out_format=draw(st.sampled_from(["corner", "center"])))
    lead = draw(st.sampled_from([(), (1,), (2,), (2, 2)]))
    count = draw(st.integers(1, 80))
    rng = np.random.RandomState(draw(st.integers(0, 2 ** 31 - 1)))
    shape = lead + (count, width)
    # small integer boxes: exact IoU ties (0, 1/3, 1/2, 1) and degenerate or inverted boxes; few score values:
    # ties in the sort; NaN scores and ids; ids that differ only after the decimal point
    data = rng.randint(0, 4, shape).astype(np.float32)
    data[..., coord_start:coord_start + 2] = rng.randint(-1, 4, lead + (count, 2))
    data[..., coord_start + 2:coord_start + 4] = (data[..., coord_start:coord_start + 2] * (rng.rand() < 0.7)
                                                  + rng.randint(-1, 4, lead + (count, 2)))
    data[..., score_index] = rng.choice([0.0, 0.25, 0.5, 0.5, 0.75, 0.9, np.nan, -1.0], lead + (count,))
    if id_index >= 0:
        data[..., id_index] = rng.choice([-1.0, 0.0, 1.0, 1.0, 1.5, 2.7, np.nan], lead + (count,))
    return data, fields


@settings(max_examples=250, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(box_nms_cases())
def test_box_nms_equals_mxnet_bit_for_bit(case):
    mx = pytest.importorskip("mxnet", reason="MXNet is not installed: BoxNMS is checked against it only where it is")
    data, fields = case
    expected = mx.nd.contrib.box_nms(mx.nd.array(data), **fields).asnumpy()
    actual = BoxNMS(**fields).evaluate(data)
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected, err_msg=str(fields))


def test_box_nms_equals_mxnet_on_a_large_batch_with_many_ties():
    """Hundreds of rows on few score values: an unstable sort would order the ties otherwise and change the
    survivors (checked: with numpy's quicksort in place of the stable sort this test fails)."""
    mx = pytest.importorskip("mxnet", reason="MXNet is not installed: BoxNMS is checked against it only where it is")
    rng = np.random.RandomState(7)
    data = np.zeros((2, 600, 6), np.float32)
    data[..., 0] = rng.randint(0, 3, (2, 600))
    data[..., 1] = rng.choice([0.2, 0.4, 0.6, 0.8], (2, 600))
    corner = rng.randint(0, 12, (2, 600, 2))
    data[..., 2:4], data[..., 4:6] = corner, corner + rng.randint(1, 4, (2, 600, 2))
    for fields in (dict(id_index=0, topk=400), dict(id_index=-1), dict(id_index=0, force_suppress=True, topk=50)):
        expected = mx.nd.contrib.box_nms(mx.nd.array(data), overlap_thresh=0.45, **fields).asnumpy()
        np.testing.assert_array_equal(BoxNMS(overlap_thresh=0.45, **fields).evaluate(data), expected)


# --------------------------------------------------------------------------------------------------------------------
# DetectionOutput


def _priors(count: int, rng, variance=(0.1, 0.1, 0.2, 0.2)) -> np.ndarray:
    centre, size = rng.rand(count, 2) * 0.8 + 0.1, rng.rand(count, 2) * 0.4 + 0.1
    boxes = np.concatenate([centre - size / 2, centre + size / 2], 1)
    return np.stack([boxes.reshape(-1), np.tile(variance, count)])[None].astype(np.float32)


def test_detection_output_groups_rows_by_label_and_cuts_at_keep_top_k_over_classes():
    # two priors, three classes (0 the background): corner code with zero priors and variance 1 returns loc
    loc = np.asarray([[0, 0, 1, 1, 5, 5, 6, 6]], np.float32)
    conf = np.asarray([[0.9, 0.3, 0.6, 0.9, 0.5, 0.8]], np.float32)
    priors = np.stack([np.zeros(8), np.ones(8)])[None].astype(np.float32)
    layer = DetectionOutput(num_classes=3, nms_threshold=0.5, top_k=10, keep_top_k=3, confidence_threshold=0.3,
                            code_type="CORNER")
    out = layer.evaluate(loc, conf, priors)
    # label 1: prior 1 (0.5) only, 0.3 is not > 0.3; label 2: prior 1 (0.8), prior 0 (0.6); all three fit
    np.testing.assert_allclose(out[0, 0], [[0, 1, 0.5, 5, 5, 6, 6], [0, 2, 0.8, 5, 5, 6, 6], [0, 2, 0.6, 0, 0, 1, 1]])
    cut = DetectionOutput(num_classes=3, nms_threshold=0.5, top_k=10, keep_top_k=2, confidence_threshold=0.3,
                          code_type="CORNER").evaluate(loc, conf, priors)
    np.testing.assert_allclose(cut[0, 0], [[0, 2, 0.8, 5, 5, 6, 6], [0, 2, 0.6, 0, 0, 1, 1]])


def test_detection_output_with_nothing_detected_returns_one_row_of_minus_ones_per_image():
    rng = np.random.RandomState(0)
    layer = DetectionOutput(num_classes=3, nms_threshold=0.45, top_k=5, keep_top_k=4, confidence_threshold=0.99)
    out = layer.evaluate(rng.randn(2, 16).astype(np.float32), np.full((2, 12), 0.5, np.float32), _priors(4, rng))
    np.testing.assert_array_equal(out, [[[[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]]]])


def test_detection_output_center_size_refuses_a_flat_prior_as_caffe_ssd_aborts():
    priors = np.stack([np.asarray([0, 0, 0, 1]), np.ones(4)])[None].astype(np.float32)
    layer = DetectionOutput(num_classes=2, nms_threshold=0.45, top_k=5, keep_top_k=4, confidence_threshold=0.1)
    with pytest.raises(ValueError, match="CENTER_SIZE"):
        layer.evaluate(np.zeros((1, 4), np.float32), np.ones((1, 2), np.float32), priors)


def test_detection_output_refuses_shared_locations_without_a_background_as_caffe_ssd_aborts():
    layer = DetectionOutput(num_classes=2, nms_threshold=0.45, top_k=5, keep_top_k=4, confidence_threshold=0.1,
                            background_label_id=-1)
    with pytest.raises(ValueError, match="label -1"):
        layer.evaluate(np.zeros((1, 4), np.float32), np.ones((1, 2), np.float32), _priors(1, np.random.RandomState(0)))


def _detection_cases() -> list[tuple[DetectionOutput, dict[str, np.ndarray]]]:
    """DetectionOutput layers with inputs that cover its parameters; scores are drawn from a few values (ties in
    each class's sort) except where keep_top_k cuts more than 16 rows (there caffe-ssd's std::sort is unstable)."""
    rng = np.random.RandomState(3)
    cases = []
    for k, (num, count, classes, code, share, background, top_k, keep, ties) in enumerate([
            (1, 40, 4, "CENTER_SIZE", True, 0, 20, 15, False),
            (2, 30, 3, "CENTER_SIZE", True, 0, 400, 200, True),
            (2, 25, 5, "CORNER", True, 0, 10, 12, False),
            (1, 30, 3, "CORNER", False, 0, 400, 100, True),
            (2, 20, 4, "CENTER_SIZE", False, 2, 8, 100, True),
            (1, 30, 3, "CENTER_SIZE", False, -1, 400, 5, False),     # no background: class 0 is a class
            (1, 50, 2, "CENTER_SIZE", True, 0, 30, 7, False),          # one target class: OpenCV stops its NMS early
            (3, 10, 3, "CENTER_SIZE", True, 0, 400, 200, False)]):     # some images without any detection
        loc_classes = 1 if share else classes
        spread = (0.5 if code == "CENTER_SIZE" else 0.05) * (1 if share else 4)   # per-class boxes differ widely
        loc = (rng.randn(num, count * loc_classes * 4) * spread).astype(np.float32)
        if ties:
            conf = rng.choice([0.05, 0.3, 0.3, 0.6, 0.9], (num, count * classes)).astype(np.float32)
        else:
            conf = rng.rand(num, count * classes).astype(np.float32)
        threshold = 0.3 if ties else 0.2   # with ties, scores equal to the threshold too (not kept: it is >)
        if k == 7:
            conf[1:] *= 0.1   # images 1 and 2 have no score above the threshold
        cases.append((DetectionOutput(num_classes=classes, nms_threshold=0.45, top_k=top_k, keep_top_k=keep,
                                      confidence_threshold=threshold, background_label_id=background,
                                      share_location=share, code_type=code),
                      {"loc": loc, "conf": conf, "priors": _priors(count, rng)}))
    # boxes on a 1/8 grid (CORNER, zero priors, variance 1: the boxes are loc): overlaps exactly at nms_threshold
    corner = rng.randint(0, 5, (1, 40, 2)) / 8
    loc = np.concatenate([corner, corner + rng.randint(1, 5, (1, 40, 2)) / 8], -1).reshape(1, -1).astype(np.float32)
    priors = np.stack([np.zeros(160), np.ones(160)])[None].astype(np.float32)
    cases.append((DetectionOutput(num_classes=3, nms_threshold=0.5, top_k=400, keep_top_k=100,
                                  confidence_threshold=0.3, code_type="CORNER"),
                  {"loc": loc, "conf": rng.choice([0.3, 0.5, 0.7], (1, 120)).astype(np.float32), "priors": priors}))
    # nothing detected at all
    cases.append((DetectionOutput(num_classes=3, nms_threshold=0.45, top_k=10, keep_top_k=6, confidence_threshold=0.9),
                  {"loc": rng.randn(2, 40).astype(np.float32), "conf": np.full((2, 30), 0.5, np.float32),
                   "priors": _priors(10, rng)}))
    return cases


def _prototxt(cases) -> tuple[str, dict[str, np.ndarray]]:
    """One net holding every case: its Input layers and a DetectionOutput `detK` on them."""
    layers, inputs = [], {}
    for k, (layer, arrays) in enumerate(cases):
        for role, array in arrays.items():
            name = f"{role}{k}"
            inputs[name] = array
            dims = " ".join(f"dim: {d}" for d in array.shape)
            layers.append(f'layer {{ name: "{name}" type: "Input" top: "{name}" '
                          f'input_param {{ shape {{ {dims} }} }} }}')
        layers.append(
            f'layer {{ name: "det{k}" type: "DetectionOutput" bottom: "loc{k}" bottom: "conf{k}" bottom: "priors{k}" '
            f'top: "det{k}" detection_output_param {{ num_classes: {layer.num_classes} '
            f'share_location: {str(layer.share_location).lower()} background_label_id: {layer.background_label_id} '
            f'nms_param {{ nms_threshold: {layer.nms_threshold} top_k: {layer.top_k} }} code_type: {layer.code_type} '
            f'keep_top_k: {layer.keep_top_k} variance_encoded_in_target: false '
            f'confidence_threshold: {layer.confidence_threshold} }} }}')
    return "\n".join(layers) + "\n", inputs


@pytest.mark.pycaffe
def test_detection_output_equals_caffe_ssd_bit_for_bit(tmp_path):
    from compiler.driver.verify.runtimes import run_pycaffe

    cases = _detection_cases()
    text, inputs = _prototxt(cases)
    (tmp_path / "det.prototxt").write_text(text)
    (tmp_path / "empty.caffemodel").write_bytes(b"")   # an empty NetParameter: the net has no weights
    outputs = run_pycaffe(str(tmp_path / "det.prototxt"), str(tmp_path / "empty.caffemodel"), inputs,
                          [f"det{k}" for k in range(len(cases))])
    for k, ((layer, arrays), caffe) in enumerate(zip(cases, outputs)):
        ours = layer.evaluate(**arrays)
        assert ours.shape == caffe.shape, f"case {k}: {ours.shape} rows, caffe-ssd {caffe.shape}"
        np.testing.assert_array_equal(ours, caffe, err_msg=f"case {k}: {layer}")


def _opencv_form(rows: np.ndarray, num: int, keep_top_k: int) -> list[np.ndarray]:
    """caffe-ssd's rows as OpenCV lays them out, image by image: [image, label, score, box] sorted by score."""
    rows = rows.reshape(-1, 7)
    rows = rows[rows[:, 1] >= 0]   # caffe-ssd's rows of −1 when nothing is detected
    return [rows[rows[:, 0] == i] for i in range(num)]


def test_detection_output_gives_opencvs_detections():
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed: DetectionOutput is checked against it only "
                                            "where it is")
    cases = _detection_cases()
    text, inputs = _prototxt(cases)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "det.prototxt")
        with open(path, "w") as f:
            f.write(text)
        net = cv2.dnn.readNetFromCaffe(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    for name, array in inputs.items():
        net.setInput(array, name)
    outputs = net.forward([f"det{k}" for k in range(len(cases))])
    for k, ((layer, arrays), opencv) in enumerate(zip(cases, outputs)):
        num = arrays["loc"].shape[0]
        assert opencv.shape == (1, 1, layer.keep_top_k * num, 7), f"case {k}"
        opencv = opencv.reshape(-1, 7)
        per_image = _opencv_form(layer.evaluate(**arrays), num, layer.keep_top_k)
        total = sum(len(rows) for rows in per_image)
        np.testing.assert_array_equal(opencv[total:], 0, err_msg=f"case {k}: OpenCV pads with zero rows")
        start = 0
        for image, ours in enumerate(per_image):
            theirs = opencv[start:start + len(ours)]
            start += len(ours)
            assert np.all(theirs[:, 0] == image) and np.all(np.diff(theirs[:, 2]) <= 0), f"case {k}"
            # the same detections; OpenCV decodes the prior centre as xmin + w/2, caffe-ssd as (xmin + xmax)/2
            for row in ours:
                match = (theirs[:, 1] == row[1]) & (theirs[:, 2] == row[2]) & \
                        (np.abs(theirs[:, 3:] - row[3:]).max(axis=1) <= 1e-6)
                assert match.any(), f"case {k}: {row} is not among OpenCV's detections"


# --------------------------------------------------------------------------------------------------------------------
# Yolov3DetectionOutput


def _yolo_layer(**overrides) -> Yolov3DetectionOutput:
    fields = dict(num_classes=3, num_box=2, confidence_threshold=0.3, nms_threshold=0.45,
                  biases=(10, 13, 16, 30, 33, 23, 30, 61), mask=(2, 3, 0, 1), anchors_scale=(32, 16), mask_group_num=2)
    return Yolov3DetectionOutput(**{**fields, **overrides})


def test_yolov3_detection_output_scores_as_ncnn_writes_it():
    layer = _yolo_layer(num_box=1, mask=(0,), anchors_scale=(32,), mask_group_num=1, confidence_threshold=0.0)
    level = np.zeros((1, 8, 1, 1), np.float32)
    level[0, :, 0, 0] = [0, 0, 0, 0, 1.0, -1.0, 2.0, 2.0]   # x, y, w, h, objectness, three class logits
    out = layer.evaluate(level)
    # ncnn's confidence is 1 / (1 + e^−obj (1 + e^−best)), not sigmoid(obj)·sigmoid(best); class 1 wins the tie
    confidence = 1 / (1 + np.exp(-1.0) * (1 + np.exp(-2.0)))
    np.testing.assert_allclose(out, [[2, confidence, 0.5 - 5 / 32, 0.5 - 6.5 / 32, 0.5 + 5 / 32, 0.5 + 6.5 / 32]],
                               rtol=1e-6)
    # the threshold is ≥: 0 keeps each of the four cells' boxes, however unlikely; 0.3 keeps none (an empty blob)
    assert layer.evaluate(np.full((1, 8, 2, 2), -30, np.float32)).shape == (4, 6)
    assert _yolo_layer(num_box=1, mask=(0,), anchors_scale=(32,), mask_group_num=1).evaluate(
        np.full((1, 8, 2, 2), -30, np.float32)).shape == (0, 6)


def _exact_yolo_level() -> tuple[Yolov3DetectionOutput, np.ndarray]:
    """One level, W 2 × H 1, one anchor (48, 32) at stride 32 and x = y = w = h = 0: the two boxes are exactly
    [−1/8, 0, 5/8, 1] and [3/8, 0, 9/8, 1] (sigmoid(0) = 1/2, e^0 = 1), intersection 1/4, union 5/4; objectness
    200 gives confidence exactly 1, 0 gives 1 / (1 + 1·(1 + e^−1))."""
    layer = _yolo_layer(num_classes=1, num_box=1, biases=(48, 32), mask=(0,), anchors_scale=(32,), mask_group_num=1,
                        confidence_threshold=0.2, nms_threshold=0.2)
    level = np.zeros((1, 6, 1, 2), np.float32)
    level[0, 4] = [[200, 0]]
    level[0, 5] = [[1, 1]]
    return layer, level


def test_yolov3_detection_output_thresholds_at_exact_ties():
    layer, level = _exact_yolo_level()
    # intersection 1/4 = 0.2 · 5/4 exactly: not > it, so both boxes stay
    out = layer.evaluate(level)
    np.testing.assert_allclose(out, [[1, 1, -1 / 8, 0, 5 / 8, 1], [1, 1 / (2 + np.exp(-1)), 3 / 8, 0, 9 / 8, 1]],
                               rtol=1e-6)
    assert out[0, 1] == 1
    # confidence exactly 1 ≥ 1 is kept; the other box is not
    assert attrs.evolve(layer, confidence_threshold=1.0).evaluate(level).shape == (1, 6)
    assert attrs.evolve(layer, nms_threshold=0.19).evaluate(level).shape == (1, 6)


def test_ncnn_quicksort_order_is_a_descending_permutation():
    scores = np.random.RandomState(0).choice([0.1, 0.5, 0.9], 200).astype(np.float32)
    order = reference.quicksort_descending(scores)
    assert sorted(order.tolist()) == list(range(200)) and np.all(np.diff(scores[order]) <= 0)
    assert reference.quicksort_descending(np.zeros(0, np.float32)).shape == (0,)


def _run_ncnn(layer: Yolov3DetectionOutput, levels, directory: str) -> np.ndarray:
    import ncnn

    def array(values) -> str:
        return f"{len(values)}," + ",".join(repr(float(v)) for v in values)

    lines = [f"Input in{i} 0 1 in{i} 0={level.shape[3]} 1={level.shape[2]} 2={level.shape[1]}"
             for i, level in enumerate(levels)]
    lines.append(f"Yolov3DetectionOutput det {len(levels)} 1 {' '.join(f'in{i}' for i in range(len(levels)))} out "
                 f"0={layer.num_classes} 1={layer.num_box} 2={float(np.float32(layer.confidence_threshold))!r} "
                 f"3={float(np.float32(layer.nms_threshold))!r} -23304={array(layer.biases)} "
                 f"-23305={array(layer.mask)} -23306={array(layer.anchors_scale)}")
    path = os.path.join(directory, "yolo.param")
    with open(path, "w") as f:
        f.write(f"7767517\n{len(lines)} {len(lines)}\n" + "\n".join(lines) + "\n")
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    assert net.load_param(path) == 0
    extractor = net.create_extractor()
    for i, level in enumerate(levels):
        extractor.input(f"in{i}", ncnn.Mat(np.ascontiguousarray(level[0])))
    status, out = extractor.extract("out")
    assert status == 0
    if out.empty():   # ncnn leaves the blob empty when nothing is detected (and numpy cannot view an empty Mat)
        return np.zeros((0, 6), np.float32)
    return np.array(out).reshape(-1, 6)


def test_yolov3_detection_output_equals_ncnn(tmp_path):
    pytest.importorskip("ncnn", reason="ncnn's Python wheel is not installed: Yolov3DetectionOutput is checked "
                                       "against it only where it is (pip install ncnn)")
    rng = np.random.RandomState(5)
    layer = _yolo_layer()
    channels = layer.num_box * (5 + layer.num_classes)
    cases = []
    for case in range(6):
        levels = [rng.randn(1, channels, 4, 5).astype(np.float32), rng.randn(1, channels, 8, 10).astype(np.float32)]
        if case % 2:   # few confidence values: ties that only ncnn's own quicksort orders the same way
            for level in levels:
                boxes = level[0].reshape(layer.num_box, 5 + layer.num_classes, -1)
                boxes[:, 4] = rng.choice([0.5, 1.0, 2.0], boxes[:, 4].shape)
                boxes[:, 5:] = 0
                boxes[:, 5 + case % layer.num_classes] = 1
        if case == 4:
            levels = [level - 40 for level in levels]   # nothing passes the threshold
        cases.append((layer, levels))
    exact, level = _exact_yolo_level()
    cases += [(exact, [level]), (attrs.evolve(exact, confidence_threshold=1.0), [level])]
    for case, (layer, levels) in enumerate(cases):
        expected, actual = _run_ncnn(layer, levels, str(tmp_path)), layer.evaluate(*levels)
        assert actual.shape == expected.shape, f"case {case}"
        # the same rows in the same order; values to a few ulps (ncnn: -Ofast -ffast-math)
        np.testing.assert_array_equal(actual[:, 0], expected[:, 0], err_msg=f"case {case}")
        np.testing.assert_allclose(actual[:, 1:], expected[:, 1:], rtol=0, atol=1e-6, err_msg=f"case {case}")


# --------------------------------------------------------------------------------------------------------------------
# through the reference interpreter


def test_the_interpreter_runs_the_detection_ops():
    rng = np.random.RandomState(1)
    graph = Graph()
    rows = graph.input("rows", TensorType((1, 20, 6), DType.float32))
    loc = graph.input("loc", TensorType((1, 40), DType.float32))
    conf = graph.input("conf", TensorType((1, 30), DType.float32))
    level = graph.input("level", TensorType((1, 16, 4, 4), DType.float32))
    prior_array = _priors(10, rng)
    priors = graph.constant(prior_array, "priors")
    nms = BoxNMS(overlap_thresh=0.5, id_index=0, topk=10)
    detection = DetectionOutput(num_classes=3, nms_threshold=0.45, top_k=10, keep_top_k=5, confidence_threshold=0.2)
    yolo = _yolo_layer(num_box=2, mask=(0, 1), anchors_scale=(8,), mask_group_num=1)
    graph.outputs = [graph.add(nms, rows, name="nms").result,
                     graph.add(detection, loc, conf, priors, name="det").result,
                     graph.add(yolo, level, name="yolo").result]
    inputs = {"rows": rng.rand(1, 20, 6).astype(np.float32), "loc": rng.randn(1, 40).astype(np.float32),
              "conf": rng.rand(1, 30).astype(np.float32), "level": rng.randn(1, 16, 4, 4).astype(np.float32)}
    got = run_graph(graph, **inputs)
    np.testing.assert_array_equal(got[0], nms.evaluate(inputs["rows"]))
    np.testing.assert_array_equal(got[1], detection.evaluate(inputs["loc"], inputs["conf"], prior_array))
    np.testing.assert_array_equal(got[2], yolo.evaluate(inputs["level"]))
    assert len(got[1][0, 0]) and len(got[2])   # something was detected
