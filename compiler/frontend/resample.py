"""The separable resampling ops of MXNet 1.9.1 (`_contrib_BilinearResize2D`, `_contrib_AdaptiveAvgPooling2D`) in
plain NumPy: their output sizes, and per-plane matrices (rows (Ho, H), cols (Wo, W)) with
op(x)[n, c] ≈ rows · x[n, c] · colsᵀ.

The matrices are the ones `compiler.frontend.probe.separable_matrices` used to read from MXNet with one-hot probes, bit
for bit: every weight is worked out in float32 with the same operations, in the same order, as MXNet's CPU kernels
(src/operator/contrib/bilinear_resize.cc, adaptive_avg_pooling.cc), and then put through the same float32 arithmetic
the kernel applies to a one-hot probe: rows are what the kernel gives at output column 0 for an input whose row i is
all ones, cols what it gives at output row 0 for an input whose column i is all ones. Usually that is the weight
itself; where the kernel's rounding shows (see `_bilinear_read_cols`, `adaptive_average_matrices`) it is the float32
result MXNet produces, so that converted models keep the exact numbers they had when MXNet was asked.

Attribute strings are read as MXNet's parameter parser reads them (dmlc: ints and floats through C++ streams,
booleans as true/false/1/0 in any case, "None" for an absent optional float); anything MXNet would reject, or that
would give an empty output, raises ValueError.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

import numpy as np

BILINEAR_MODES = ("size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down", "to_odd_up")
_BILINEAR_ATTRIBUTES = frozenset({"height", "width", "scale_height", "scale_width", "mode", "align_corners"})

_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT_TEXT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_NONE_TEXT = re.compile(r"None\s*")
_INT32 = 1 << 31


# --- attribute strings, read the way MXNet 1.9.1 reads them ---------------------------------------------------------

def _read_int(name: str, text: str, *, minimum: int | None = None) -> int:
    text = str(text)
    if not _INT_TEXT.fullmatch(text):
        raise ValueError(f"attribute {name}={text!r}: expected an integer")
    value = int(text)
    if not -_INT32 <= value < _INT32:
        raise ValueError(f"attribute {name}={text!r}: does not fit a 32-bit int")
    if minimum is not None and value < minimum:
        raise ValueError(f"attribute {name}={text!r}: must be at least {minimum}")
    return value


def _nearest_float32(exact: Fraction) -> np.float32:
    """`exact` rounded once, to nearest with ties to even, to float32 (as strtof does; going through a Python float
    first could round twice)."""
    guess = np.float32(float(exact))
    if not np.isfinite(guess):
        return guess
    best = None
    for candidate in (np.nextafter(guess, np.float32(-np.inf)), guess, np.nextafter(guess, np.float32(np.inf))):
        if not np.isfinite(candidate):
            continue
        key = (abs(Fraction(float(candidate)) - exact), int(candidate.view(np.uint32)) & 1)
        if best is None or key < best[0]:
            best = (key, candidate)
    return best[1]


def _read_optional_float(name: str, text: str | None) -> np.float32 | None:
    if text is None:
        return None
    text = str(text)
    if _NONE_TEXT.fullmatch(text):
        return None
    if not _FLOAT_TEXT.fullmatch(text):
        raise ValueError(f"attribute {name}={text!r}: expected a decimal number or None")
    value = _nearest_float32(Fraction(text.strip()))
    if not np.isfinite(value):
        raise ValueError(f"attribute {name}={text!r}: too large for a float32")
    return value


def _read_bool(name: str, text: str) -> bool:
    word = str(text).lower()
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    raise ValueError(f"attribute {name}={text!r}: expected True, False, 1 or 0")


def _as_int16(value: int) -> int:
    """MXNet's shape function keeps the new sizes in int16 variables: larger values wrap around."""
    return (value + (1 << 15)) % (1 << 16) - (1 << 15)


def _truncate(product: np.float32, what: str) -> int:
    """C's float → int conversion (toward zero), refusing what C leaves undefined."""
    if not np.isfinite(product) or not -_INT32 < float(product) < _INT32:
        raise ValueError(f"{what} = {product} is out of range")
    return int(product)


# --- _contrib_BilinearResize2D ---------------------------------------------------------------------------------------

def _attribute_strings(attrs: Mapping) -> dict[str, str]:
    """The node's attributes as MXNet strings: the raw strings are the exact input (a scale that went through a
    Python float may round twice on its way to float32, for decimals within 10⁻¹⁶ or so of a float32 boundary)."""
    return {str(k): str(v) for k, v in attrs.items()}


def bilinear_align_corners(attrs: dict[str, str]) -> bool:
    """The op's align_corners attribute (MXNet's default: True)."""
    return _read_bool("align_corners", _attribute_strings(attrs).get("align_corners", "True"))


def bilinear_resize_shape(attrs: dict[str, str], in_shape: tuple, like_shape: tuple | None = None) -> tuple[int, int]:
    """(Ho, Wo) of `_contrib_BilinearResize2D` on an NCHW input `in_shape` (and, in mode 'like', a second input of
    shape `like_shape`), as MXNet 1.9.1's shape function (bilinear_resize-inl.h, BilinearSampleOpInferShape) gives it:

    - size: `height`/`width` (defaults 1); when `scale_height` is given, Ho = int(scale_height · H) and
      Wo = int(scale_width · W), so scale_width is then required; a `scale_width` without `scale_height` is ignored.
    - odd_scale: both scales required; an even side S becomes int(S · scale), an odd one int((S − 1) · scale) + 1.
    - like: the sizes of the second input's axes 2 and 3.
    - to_even_down/to_even_up/to_odd_down/to_odd_up: each side moves by one to the nearest even/odd size below/above.

    Products are float32 (the scale is a float32, the side is converted to float32), truncated toward zero, and the
    sizes are then stored in 16-bit integers as MXNet does (so they wrap past 32767). ValueError for attributes MXNet
    rejects, for a missing scale or like-input, and for an output side below 1. (`attrs` may also be an object with
    those fields, see `_attribute_strings`.)"""
    attrs = _attribute_strings(attrs)
    unknown = sorted(k for k in attrs if k not in _BILINEAR_ATTRIBUTES and not k.startswith("__"))
    if unknown:
        raise ValueError(f"_contrib_BilinearResize2D has no attribute {', '.join(unknown)}")
    mode = str(attrs.get("mode", "size"))
    if mode not in BILINEAR_MODES:
        raise ValueError(f"attribute mode={mode!r}: expected one of {', '.join(BILINEAR_MODES)}")
    height = _read_int("height", attrs.get("height", "1"), minimum=1)
    width = _read_int("width", attrs.get("width", "1"), minimum=1)
    scale_height = _read_optional_float("scale_height", attrs.get("scale_height"))
    scale_width = _read_optional_float("scale_width", attrs.get("scale_width"))
    bilinear_align_corners(attrs)   # parsed for its errors only: it does not change the shape
    in_shape = tuple(int(d) for d in in_shape)
    if len(in_shape) != 4:
        raise ValueError(f"_contrib_BilinearResize2D needs a 4-d (NCHW) input, got shape {in_shape}")
    if (mode == "like") != (like_shape is not None):
        raise ValueError("mode 'like' takes exactly two inputs (data, like), every other mode exactly one")
    h, w = in_shape[2:]

    def scaled(side: int, scale: np.float32 | None, name: str) -> int:
        if scale is None:
            raise ValueError(f"mode {mode!r} with these attributes needs {name}")
        return _truncate(np.float32(side) * scale, f"{name} · {side}")

    if mode == "size":
        if scale_height is None:
            out = (height, width)   # scale_width alone is ignored by MXNet
        else:
            out = (scaled(h, scale_height, "scale_height"), scaled(w, scale_width, "scale_width"))
    elif mode == "odd_scale":
        out = tuple(scaled(side, scale, name) if side % 2 == 0 else _as_int16(scaled(side - 1, scale, name)) + 1
                    for side, scale, name in ((h, scale_height, "scale_height"), (w, scale_width, "scale_width")))
    elif mode == "like":
        like_shape = tuple(int(d) for d in like_shape)
        if len(like_shape) < 4:
            raise ValueError(f"mode 'like' needs a second input with at least 4 axes, got shape {like_shape}")
        out = like_shape[2:4]
    else:
        want_odd = mode.startswith("to_odd")
        step = 1 if mode.endswith("_up") else -1
        out = tuple(side if side % 2 == want_odd else side + step for side in (h, w))
    out = tuple(_as_int16(side) for side in out)
    if min(out) < 1:
        raise ValueError(f"_contrib_BilinearResize2D in mode {mode!r} on input {in_shape} gives output sides {out} "
                         "(MXNet keeps them in 16-bit integers); every side must be at least 1")
    return out


def _bilinear_axis(in_size: int, out_size: int, align_corners: bool):
    """Per output index, as MXNet's forward kernel computes them in float32: the first source index, the second one
    (the same index on the last input pixel), and the two weights (lambda0 on the first, lambda1 on the second)."""
    one = np.float32(1)
    if out_size > 1:   # area_pixel_compute_scale; a 1-pixel output has scale 0 and samples input pixel 0
        scale = (np.float32(in_size - 1) / np.float32(out_size - 1) if align_corners
                 else np.float32(in_size) / np.float32(out_size))
    else:
        scale = np.float32(0)
    index = np.arange(out_size, dtype=np.int64)
    if align_corners:
        source = scale * index.astype(np.float32)
    else:
        # scale · (index + 0.5) − 0.5 is evaluated in double (0.5 is a double literal), then stored as float32,
        # and negative positions are clamped to 0 (a -0.0 stays -0.0, as `x < 0` is false for it).
        source = (np.float64(scale) * (index + 0.5) - 0.5).astype(np.float32)
        source = np.where(source < 0, np.float32(0), source).astype(np.float32)
    first = np.trunc(source).astype(np.int64)
    second = first + (first < in_size - 1)
    lambda1 = (source - first.astype(np.float32)).astype(np.float32)
    lambda0 = (one - lambda1).astype(np.float32)
    return first, second, lambda0, lambda1


def _bilinear_read_rows(h_axis, w_axis, in_h: int) -> np.ndarray:
    """The kernel's float32 output at column 0 when input row i is all ones, for every i: (Ho, H).
    Output = λh0 · (λw0 · a + λw1 · b) + λh1 · (λw0 · c + λw1 · d), a..d the four source pixels."""
    h_first, h_second, h0, h1 = h_axis
    _, _, w0, w1 = w_axis
    row_sum = np.float32(w0[0] * np.float32(1) + w1[0] * np.float32(1))   # 1 for every pair the kernel makes
    pixel = np.arange(in_h)
    on_first = np.where(h_first[:, None] == pixel, row_sum, np.float32(0)).astype(np.float32)
    on_second = np.where(h_second[:, None] == pixel, row_sum, np.float32(0)).astype(np.float32)
    return (h0[:, None] * on_first + h1[:, None] * on_second).astype(np.float32)


def _bilinear_read_cols(h_axis, w_axis, in_w: int) -> np.ndarray:
    """The kernel's float32 output at row 0 when input column i is all ones, for every i: (Wo, W). Both source rows
    then hold the same horizontal blend v, and the kernel returns fl(fl(λh0·v) + fl(λh1·v)) with the weights of output
    row 0: exactly v unless λh1 of row 0 is nonzero (align_corners=False shrinking H with H > 1), where it can be one
    float32 ulp away from v. The probes read that value, and so does this."""
    _, _, h0, h1 = h_axis
    w_first, w_second, w0, w1 = w_axis
    pixel = np.arange(in_w)
    hit_first = (w_first[:, None] == pixel).astype(np.float32)
    hit_second = (w_second[:, None] == pixel).astype(np.float32)
    blend = (w0[:, None] * hit_first + w1[:, None] * hit_second).astype(np.float32)
    return (h0[0] * blend + h1[0] * blend).astype(np.float32)


def bilinear_resize_matrices(in_hw: tuple[int, int], out_hw: tuple[int, int],
                             align_corners: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(rows (Ho, H), cols (Wo, W)), float64, with MXNet 1.9.1's `_contrib_BilinearResize2D` on float32 CPU data
    ≈ rows · x · colsᵀ for each (H, W) plane x (bilinear_resize.cc, SpatialUpSamplingBilinearUpdateOutput):

    - scale = (S − 1)/(So − 1) with align_corners, S/So without; 0 when So = 1 (so a 1-pixel output is input
      pixel 0, not the middle);
    - source position p = scale · o (align_corners) or max(scale · (o + 0.5) − 0.5, 0), in float32;
    - weights 1 − (p − ⌊p⌋) on pixel ⌊p⌋ and p − ⌊p⌋ on the next pixel, or on the same pixel at the last one;
    - input and output of the same size: a copy.

    The entries are bit-identical to what `probe.separable_matrices` reads from MXNet for the same sizes."""
    (in_h, in_w), (out_h, out_w) = (tuple(int(v) for v in in_hw), tuple(int(v) for v in out_hw))
    if min(in_h, in_w, out_h, out_w) < 1:
        raise ValueError(f"bilinear resize from {in_h}x{in_w} to {out_h}x{out_w}: every side must be at least 1")
    if (in_h, in_w) == (out_h, out_w):
        return np.eye(in_h), np.eye(in_w)
    h_axis = _bilinear_axis(in_h, out_h, bool(align_corners))
    w_axis = _bilinear_axis(in_w, out_w, bool(align_corners))
    rows = _bilinear_read_rows(h_axis, w_axis, in_h)
    cols = _bilinear_read_cols(h_axis, w_axis, in_w)
    return rows.astype(np.float64), cols.astype(np.float64)


# --- _contrib_AdaptiveAvgPooling2D -----------------------------------------------------------------------------------

def adaptive_output_size(output_size, in_hw: tuple[int, int] | None = None) -> tuple[int, int]:
    """(Ho, Wo) of `_contrib_AdaptiveAvgPooling2D` for its `output_size` attribute (the MXNet string, an int, a tuple
    or None), as adaptive_avg_pooling-inl.h (AdaptiveAvgPoolOpInferShape) gives it: absent, "None" or "()" → (1, 1)
    (global pooling, not the input size); one value n → (n, n); two values → (h, w); three or more values → (1, 1)
    as well. The output does not depend on the input size `in_hw` (kept for the callers' convenience).
    ValueError for a string MXNet cannot read and for a side below 1."""
    del in_hw
    if isinstance(output_size, str):
        text = output_size.strip()
        if text == "None":
            values = ()
        else:
            inner = text[1:-1] if len(text) >= 2 and (text[0], text[-1]) in (("(", ")"), ("[", "]")) else text
            if text != inner and not inner.strip():
                values = ()
            else:
                parts = inner.split(",")
                if parts and not parts[-1].strip() and text != inner:
                    parts = parts[:-1]   # "(3,)"
                # MXNet's tuple reader also skips a C 'L' suffix after each number ("(3L, 4L)").
                values = tuple(_read_int("output_size", re.sub(r"(?<=\d)L(?=\s*$)", "", part)) for part in parts)
    elif output_size is None:
        values = ()
    elif isinstance(output_size, (int, np.integer)):
        values = (int(output_size),)
    else:
        values = tuple(int(v) for v in output_size)
    if len(values) == 1:
        out = (values[0], values[0])
    elif len(values) == 2:
        out = values
    else:
        out = (1, 1)
    if min(out) < 1:
        raise ValueError(f"_contrib_AdaptiveAvgPooling2D output_size={output_size!r} gives an empty output {out}")
    return out


def _adaptive_bins(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin o covers [⌊o·S/So⌋, ⌈(o+1)·S/So⌉), each bound computed in float32 (the integer product converted to float,
    divided by So as float) as MXNet's START_IND/END_IND do."""
    index = np.arange(out_size, dtype=np.int64)
    divisor = np.float32(out_size)
    start = np.floor((index * in_size).astype(np.float32) / divisor).astype(np.int64)
    end = np.ceil(((index + 1) * in_size).astype(np.float32) / divisor).astype(np.int64)
    return start, end


def adaptive_average_matrices(in_hw: tuple[int, int], out_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows (Ho, H), cols (Wo, W)), float64, with MXNet 1.9.1's `_contrib_AdaptiveAvgPooling2D` on float32 CPU data
    ≈ rows · x · colsᵀ (adaptive_avg_pooling.cc, SpatialAdaptiveAveragePooling_updateOutput_frame): output (i, j)
    is the float32 sum over its bin divided by the bin's width kW, then by its height kH.

    Bit-identical to the probes: rows are fl(fl(kW/kW)/kH) = fl(1/kH) over the bin; cols are read at output row 0
    where the bin sum is kH₀ (the height of row bin 0), so they are fl(fl(kH₀/kW)/kH₀), which can differ from
    fl(1/kW) by one float32 ulp (e.g. kH₀ = 3, kW = 10)."""
    (in_h, in_w), (out_h, out_w) = (tuple(int(v) for v in in_hw), tuple(int(v) for v in out_hw))
    if min(in_h, in_w, out_h, out_w) < 1:
        raise ValueError(f"adaptive average pooling from {in_h}x{in_w} to {out_h}x{out_w}: every side must be at "
                         "least 1")
    h_start, h_end = _adaptive_bins(in_h, out_h)
    w_start, w_end = _adaptive_bins(in_w, out_w)
    k_h = (h_end - h_start).astype(np.float32)
    k_w = (w_end - w_start).astype(np.float32)
    rows_pixel, cols_pixel = np.arange(in_h), np.arange(in_w)
    in_row_bin = (h_start[:, None] <= rows_pixel) & (rows_pixel < h_end[:, None])
    in_col_bin = (w_start[:, None] <= cols_pixel) & (cols_pixel < w_end[:, None])
    row_weight = ((k_w[0] / k_w[0]) / k_h).astype(np.float32)
    col_weight = ((k_h[0] / k_w) / k_h[0]).astype(np.float32)
    rows = np.where(in_row_bin, row_weight[:, None], np.float32(0))
    cols = np.where(in_col_bin, col_weight[:, None], np.float32(0))
    return rows.astype(np.float64), cols.astype(np.float64)
