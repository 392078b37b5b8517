"""compiler.frontend.resample computes, without MXNet, what the one-hot probes of compiler.frontend.probe read from
MXNet 1.9.1: output sizes equal to MXNet's shape inference, and matrices bit-identical to the probes' for
`_contrib_BilinearResize2D` (every mode, both align_corners) and `_contrib_AdaptiveAvgPooling2D`."""
import itertools
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.frontend import resample

mx = pytest.importorskip("mxnet", reason="the reference for these tests is MXNet itself")
from compiler.frontend.probe import run_node, separable_matrices

BILINEAR = "_contrib_BilinearResize2D"
ADAPTIVE = "_contrib_AdaptiveAvgPooling2D"
SIDES = list(range(1, 14)) + [16, 17, 31, 64]


def mxnet_shape(op, attrs, shapes):
    """MXNet's inferred output shape for one node, or None when MXNet refuses or cannot tell."""
    names = [f"in{i}" for i in range(len(shapes))]
    document = {"nodes": [{"op": "null", "name": n, "inputs": []} for n in names]
                + [{"op": op, "name": "node", "attrs": attrs, "inputs": [[i, 0, 0] for i in range(len(shapes))]}],
                "arg_nodes": list(range(len(shapes))), "heads": [[len(shapes), 0, 0]],
                "attrs": {"mxnet_version": ["int", 10901]}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # "cannot decide shape": an unknown (-1) output side
            _, out, _ = mx.sym.load_json(json.dumps(document)).infer_shape(**dict(zip(names, shapes)))
    except mx.base.MXNetError:
        return None
    return None if out is None else tuple(out[0])


def assert_same_matrices(ours, probed):
    for mine, theirs in zip(ours, probed):
        assert mine.dtype == np.float64 and mine.shape == theirs.shape
        # Bit for bit (array_equal on float64 that hold float32 values), not merely close.
        assert np.array_equal(mine, theirs), np.argwhere(mine != theirs)[:5]


# --- _contrib_BilinearResize2D: shapes -------------------------------------------------------------------------------

SHAPE_CASES = [
    ({}, (1, 1, 4, 4), None),
    ({"height": "5", "width": "7"}, (2, 3, 4, 4), None),
    ({"height": " 2", "width": "7 ", "align_corners": "tRuE"}, (1, 1, 4, 4), None),     # dmlc's readers
    ({"height": "+5", "width": "05", "align_corners": "0"}, (1, 1, 4, 4), None),
    ({"scale_height": "1.5", "scale_width": "2"}, (1, 1, 4, 5), None),
    ({"scale_height": "0.7", "scale_width": "0.3"}, (1, 1, 10, 10), None),
    ({"scale_height": "0.53", "scale_width": "0.59"}, (1, 1, 100, 100), None),   # float32 products: 52, 58
    ({"scale_height": "0.01", "scale_width": "0.02"}, (1, 1, 100, 100), None),   # float32: 1 and 2 (double: 0, 1)
    ({"scale_height": "1e0", "scale_width": ".5", "height": "3"}, (1, 1, 7, 9), None),   # scales win over sizes
    ({"scale_height": " 1.", "scale_width": "+2 "}, (1, 1, 7, 9), None),
    ({"scale_width": "1.5", "height": "3"}, (1, 1, 4, 4), None),        # scale_width alone: ignored, width = 1
    ({"scale_height": "None", "height": "3", "width": "2"}, (1, 1, 4, 4), None),
    ({"height": "70000", "width": "3"}, (1, 1, 4, 4), None),             # int16 wrap: 70000 → 4464
    # 1 + 2⁻²⁴ + 10⁻⁴¹ rounds once to 1 + 2⁻²³ in float32 (strtof), but to 1 through a double: 2²³ · scale
    # then wraps (int16) to 1 instead of 0.
    ({"scale_height": "1.00000005960464477539062500000000000000001", "scale_width": "1"}, (1, 1, 8388608, 2), None),
    ({"mode": "odd_scale", "scale_height": "2", "scale_width": "0.5"}, (1, 1, 5, 4), None),
    ({"mode": "odd_scale", "scale_height": "1.5", "scale_width": "0.3"}, (1, 1, 8, 11), None),
    ({"mode": "odd_scale", "scale_height": "0.5", "scale_width": "3"}, (1, 1, 1, 2), None),
    ({"mode": "odd_scale", "scale_height": "3000", "scale_width": "1"}, (1, 1, 23, 4), None),   # wraps
    ({"mode": "like"}, (1, 1, 5, 4), (2, 3, 9, 11)),
    ({"mode": "like", "height": "3", "scale_height": "2"}, (1, 1, 5, 4), (1, 1, 1, 1)),
    ({"mode": "like"}, (1, 1, 5, 4), (1, 1, 70000, 5, 6)),             # axes 2 and 3 of any like input
    ({"mode": "to_even_down"}, (1, 1, 5, 4), None),
    ({"mode": "to_even_up"}, (1, 1, 5, 4), None),
    ({"mode": "to_odd_down"}, (1, 1, 2, 5), None),
    ({"mode": "to_odd_up"}, (1, 1, 5, 4), None),
    ({"mode": "to_odd_down", "align_corners": "False"}, (1, 1, 1, 1), None),
    ({"mode": "to_even_up", "scale_height": "5"}, (1, 1, 1, 2), None),
    ({"height": "5", "width": "7", "__layout__": "NCHW"}, (1, 1, 4, 4), None),
]


@pytest.mark.parametrize(("attrs", "in_shape", "like_shape"), SHAPE_CASES)
def test_bilinear_shape_is_mxnets(attrs, in_shape, like_shape):
    shapes = [in_shape] + ([like_shape] if like_shape else [])
    expected = mxnet_shape(BILINEAR, attrs, shapes)
    assert expected is not None
    assert resample.bilinear_resize_shape(attrs, in_shape, like_shape) == expected[2:]


def test_bilinear_shape_of_attribute_strings_without_defaults():
    attrs = {"height": "1", "width": "1", "scale_height": "0.53", "scale_width": "2.0", "mode": "size",
             "align_corners": "False"}
    assert resample.bilinear_resize_shape(attrs, (1, 1, 100, 3)) == (52, 6)
    assert resample.bilinear_align_corners(attrs) is False
    like = {"mode": "like", "align_corners": "True"}
    assert resample.bilinear_resize_shape(like, (1, 1, 4, 4), (1, 1, 9, 2)) == (9, 2)
    with pytest.raises(ValueError):
        resample.bilinear_resize_shape({"scale_height": "1.5", "mode": "size"}, (1, 1, 4, 4))


INVALID_BILINEAR = [
    ({"scale_height": "1.5"}, (1, 1, 4, 4), None),                     # scale_width then required
    ({"scale_height": "1.5", "scale_width": "None"}, (1, 1, 4, 4), None),
    ({"mode": "odd_scale"}, (1, 1, 4, 4), None),
    ({"mode": "odd_scale", "scale_height": "2"}, (1, 1, 5, 4), None),
    ({"mode": "like"}, (1, 1, 4, 4), None),                            # no like input
    ({"mode": "like"}, (1, 1, 4, 4), (1, 1, 3)),
    ({"height": "3"}, (1, 1, 4, 4), (1, 1, 3, 3)),                     # like input outside mode 'like'
    ({"height": "3"}, (1, 1, 4), None),
    ({"height": "0"}, (1, 1, 4, 4), None),
    ({"height": "-5"}, (1, 1, 4, 4), None),
    ({"height": "2.0"}, (1, 1, 4, 4), None),
    ({"width": "0x5"}, (1, 1, 4, 4), None),
    ({"width": "5L"}, (1, 1, 4, 4), None),
    ({"height": "2147483648"}, (1, 1, 4, 4), None),
    ({"height": "40000"}, (1, 1, 4, 4), None),                         # wraps to −25536
    ({"mode": "like"}, (1, 1, 4, 4), (1, 1, 40000, 2)),
    ({"align_corners": "yes"}, (1, 1, 4, 4), None),
    ({"align_corners": " True"}, (1, 1, 4, 4), None),
    ({"align_corners": "2"}, (1, 1, 4, 4), None),
    ({"mode": "SIZE"}, (1, 1, 4, 4), None),
    ({"mode": "bogus"}, (1, 1, 4, 4), None),
    ({"bogus": "1"}, (1, 1, 4, 4), None),
    ({"scale_height": "0.1", "scale_width": "0.1"}, (1, 1, 4, 4), None),   # an empty output
    ({"scale_height": "2", "scale_width": "-1"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "1e39"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "1e-50"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "inf"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "nan"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "1.5f"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "none"}, (1, 1, 4, 4), None),
    ({"scale_height": "2", "scale_width": "1_0"}, (1, 1, 4, 4), None),
    ({"mode": "to_even_down"}, (1, 1, 1, 4), None),
    ({"mode": "to_even_up"}, (1, 1, 32767, 4), None),                  # 32768 wraps to −32768
]


@pytest.mark.parametrize(("attrs", "in_shape", "like_shape"), INVALID_BILINEAR)
def test_invalid_bilinear_attributes_raise_value_error(attrs, in_shape, like_shape):
    shapes = [in_shape] + ([like_shape] if like_shape else [])
    expected = mxnet_shape(BILINEAR, attrs, shapes)
    assert expected is None or min(expected[2:4]) < 1     # MXNet refuses too, or infers an empty output
    with pytest.raises(ValueError):
        resample.bilinear_resize_shape(attrs, in_shape, like_shape)


# --- _contrib_BilinearResize2D: matrices -----------------------------------------------------------------------------

@pytest.mark.parametrize("align_corners", [True, False])
def test_bilinear_matrices_are_the_probes_on_a_grid_of_sizes(align_corners):
    """Every pair of sides in SIDES on the height, the same pairs reversed on the width: up, down, equal, 1 pixel."""
    for h, out_h in itertools.product(SIDES, SIDES):
        w, out_w = out_h, h
        attrs = {"height": str(out_h), "width": str(out_w), "align_corners": str(align_corners)}
        probed = separable_matrices(BILINEAR, attrs, (1, 1, h, w), [], "node")
        assert_same_matrices(resample.bilinear_resize_matrices((h, w), (out_h, out_w), align_corners), probed)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(long_side=st.integers(1, 400), long_out=st.integers(1, 400), short_side=st.integers(1, 5),
       short_out=st.integers(1, 5), align_corners=st.booleans(), long_is_height=st.booleans())
def test_bilinear_matrices_are_the_probes_for_long_sides(long_side, long_out, short_side, short_out, align_corners,
                                                        long_is_height):
    """Long sides (where float32 positions round) against a short other side, so that the probes stay cheap."""
    if long_is_height:
        (h, w), (out_h, out_w) = (long_side, short_side), (long_out, short_out)
    else:
        (h, w), (out_h, out_w) = (short_side, long_side), (short_out, long_out)
    attrs = {"height": str(out_h), "width": str(out_w), "align_corners": str(align_corners)}
    probed = separable_matrices(BILINEAR, attrs, (1, 1, h, w), [], "node")
    assert_same_matrices(resample.bilinear_resize_matrices((h, w), (out_h, out_w), align_corners), probed)


MODE_CASES = [
    ({"height": "7", "width": "3"}, (1, 1, 5, 9), None),
    ({"scale_height": "1.5", "scale_width": "0.7", "align_corners": "False"}, (1, 1, 5, 9), None),
    ({"scale_height": "0.53", "scale_width": "2.5"}, (1, 1, 100, 3), None),
    ({"scale_width": "3", "height": "2", "width": "4", "align_corners": "0"}, (1, 1, 5, 9), None),
    ({"mode": "odd_scale", "scale_height": "2", "scale_width": "0.5"}, (1, 1, 5, 8), None),
    ({"mode": "odd_scale", "scale_height": "1.7", "scale_width": "0.3", "align_corners": "False"}, (1, 1, 6, 11),
     None),
    ({"mode": "like"}, (1, 1, 5, 4), (1, 2, 9, 2)),
    ({"mode": "like", "align_corners": "false"}, (1, 1, 5, 4), (1, 2, 1, 13)),
    ({"mode": "to_even_down"}, (1, 1, 5, 7), None),
    ({"mode": "to_even_up", "align_corners": "False"}, (1, 1, 5, 7), None),
    ({"mode": "to_odd_down"}, (1, 1, 6, 8), None),
    ({"mode": "to_odd_up", "align_corners": "False"}, (1, 1, 6, 8), None),
    ({"mode": "to_odd_up"}, (1, 1, 5, 7), None),                        # same size: a copy
]


@pytest.mark.parametrize(("attrs", "in_shape", "like_shape"), MODE_CASES)
def test_every_mode_gives_the_probes_matrices(attrs, in_shape, like_shape):
    out_hw = resample.bilinear_resize_shape(attrs, in_shape, like_shape)
    extra = [np.zeros(like_shape, np.float32)] if like_shape else []
    probed = separable_matrices(BILINEAR, attrs, in_shape, extra, "node")
    ours = resample.bilinear_resize_matrices(in_shape[2:], out_hw, resample.bilinear_align_corners(attrs))
    assert_same_matrices(ours, probed)


@pytest.mark.parametrize(("attrs", "in_shape", "like_shape"), MODE_CASES + [
    ({"height": "1", "width": "1", "align_corners": "False"}, (2, 3, 6, 5), None),   # input pixel 0, not the middle
    ({"height": "9", "width": "2"}, (2, 3, 1, 1), None),
    ({"height": "37", "width": "100", "align_corners": "False"}, (1, 2, 100, 37), None),
])
def test_the_matrices_map_random_planes_like_mxnet(attrs, in_shape, like_shape):
    rng = np.random.RandomState(7)
    x = rng.standard_normal(in_shape).astype(np.float32)
    extra = [np.zeros(like_shape, np.float32)] if like_shape else []
    expected = run_node(BILINEAR, attrs, [x, *extra]).astype(np.float64)
    out_hw = resample.bilinear_resize_shape(attrs, in_shape, like_shape)
    rows, cols = resample.bilinear_resize_matrices(in_shape[2:], out_hw, resample.bilinear_align_corners(attrs))
    mapped = np.einsum("oh,nchw,pw->ncop", rows, x.astype(np.float64), cols)
    np.testing.assert_allclose(mapped, expected, rtol=1e-6, atol=1e-6 * np.abs(x).max())


def test_the_probe_rounding_is_reproduced_not_the_bare_weights():
    """Without align_corners, shrinking 5 → 3 rows gives output row 0 the row weights λ0 ≈ 2/3, λ1 ≈ 1/3 (both on
    input rows); on an input whose column 0 is all ones MXNet returns fl(fl(λ0·v) + fl(λ1·v)) at output (0, 0), v the
    weight of input column 0 in output column 0 (4 → 3 columns: 1 − (4/3 · 0.5 − 0.5) ≈ 5/6): one float32 ulp off v.
    The matrices carry MXNet's value, as the probes did."""
    rows, cols = resample.bilinear_resize_matrices((5, 4), (3, 3), align_corners=False)
    probed = separable_matrices(BILINEAR, {"height": "3", "width": "3", "align_corners": "False"}, (1, 1, 5, 4), [],
                                "node")
    assert_same_matrices((rows, cols), probed)
    bare = 1 - (np.float32(4 / 3) * np.float32(0.5) - np.float32(0.5))   # λ0 of output column 0, in float32
    assert cols[0, 0] != np.float64(np.float32(bare)) and abs(cols[0, 0] - bare) <= 2 ** -24


# --- _contrib_AdaptiveAvgPooling2D -----------------------------------------------------------------------------------

@pytest.mark.parametrize("output_size", [None, "()", "None", "3", "(3,)", "(3, 4)", "[3,4]", " (2, 5) ", "(3L, 4L)",
                                         "(2,3,4)", "(1, 1)", "(20, 1)"])
def test_adaptive_output_size_is_mxnets(output_size):
    attrs = {} if output_size is None else {"output_size": output_size}
    expected = mxnet_shape(ADAPTIVE, attrs, [(1, 2, 9, 10)])
    assert resample.adaptive_output_size(output_size, (9, 10)) == expected[2:]


def test_adaptive_output_size_takes_python_values():
    assert resample.adaptive_output_size(None, (9, 10)) == (1, 1)
    assert resample.adaptive_output_size(4, (9, 10)) == (4, 4)
    assert resample.adaptive_output_size((2, 5), (9, 10)) == (2, 5)
    assert resample.adaptive_output_size((), (9, 10)) == (1, 1)


@pytest.mark.parametrize("output_size", ["", "0", "(0, 2)", "-1", "(2, -3)", "(2.5, 3)", "x", "(2 3)"])
def test_invalid_adaptive_output_sizes_raise_value_error(output_size):
    expected = mxnet_shape(ADAPTIVE, {"output_size": output_size}, [(1, 2, 9, 10)])
    assert expected is None or min(expected[2:4]) < 1
    with pytest.raises(ValueError):
        resample.adaptive_output_size(output_size, (9, 10))


def test_adaptive_matrices_are_the_probes_on_a_grid_of_sizes():
    for h, out_h in itertools.product(SIDES, SIDES):
        w, out_w = out_h, h
        probed = separable_matrices(ADAPTIVE, {"output_size": f"({out_h}, {out_w})"}, (1, 1, h, w), [], "node")
        assert_same_matrices(resample.adaptive_average_matrices((h, w), (out_h, out_w)), probed)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(long_side=st.integers(1, 400), long_out=st.integers(1, 400), short_side=st.integers(1, 12),
       short_out=st.integers(1, 12), long_is_height=st.booleans())
def test_adaptive_matrices_are_the_probes_for_long_sides(long_side, long_out, short_side, short_out, long_is_height):
    if long_is_height:
        (h, w), (out_h, out_w) = (long_side, short_side), (long_out, short_out)
    else:
        (h, w), (out_h, out_w) = (short_side, long_side), (short_out, long_out)
    probed = separable_matrices(ADAPTIVE, {"output_size": f"({out_h}, {out_w})"}, (1, 1, h, w), [], "node")
    assert_same_matrices(resample.adaptive_average_matrices((h, w), (out_h, out_w)), probed)


def test_adaptive_cols_keep_mxnets_division_order():
    """MXNet divides a bin's sum by kW, then by kH. Read at output row 0 (kH₀ = 5 rows: 10 → 2) a 3-wide column bin
    gives fl(fl(5/3)/5), one ulp away from fl(1/3); the probes saw that value, and so do the matrices."""
    rows, cols = resample.adaptive_average_matrices((10, 3), (2, 1))
    assert_same_matrices((rows, cols), separable_matrices(ADAPTIVE, {"output_size": "(2, 1)"}, (1, 1, 10, 3), [],
                                                          "node"))
    assert cols[0, 0] == np.float64(np.float32(np.float32(5) / np.float32(3)) / np.float32(5))
    assert cols[0, 0] != np.float64(np.float32(1) / np.float32(3))


@pytest.mark.parametrize(("in_hw", "out_hw"), [((9, 10), (4, 3)), ((7, 7), (9, 2)), ((1, 5), (3, 5)),
                                               ((224, 3), (7, 2))])
def test_adaptive_matrices_map_random_planes_like_mxnet(in_hw, out_hw):
    rng = np.random.RandomState(3)
    x = rng.standard_normal((2, 3, *in_hw)).astype(np.float32)
    expected = run_node(ADAPTIVE, {"output_size": str(out_hw)}, [x]).astype(np.float64)
    rows, cols = resample.adaptive_average_matrices(in_hw, out_hw)
    mapped = np.einsum("oh,nchw,pw->ncop", rows, x.astype(np.float64), cols)
    np.testing.assert_allclose(mapped, expected, rtol=1e-6, atol=1e-6 * np.abs(x).max())


def test_matrices_refuse_empty_sides():
    with pytest.raises(ValueError):
        resample.bilinear_resize_matrices((0, 3), (2, 2), True)
    with pytest.raises(ValueError):
        resample.adaptive_average_matrices((3, 3), (2, 0))
