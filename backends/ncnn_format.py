"""ncnn's own files from Caffe layers of the `ncnn` dialect: the `.param` text and the `.bin` weights that the ncnn
runtime loads (docs/ncnn-format.md: the format, each layer's param ids and weight layout, and where Tencent's
caffe2ncnn departs from Caffe, which this translation does not).

It works on one sample: ncnn has no batch axis, so every Caffe shape loses its first dimension (the `ncnn` target's
policy keeps Reshapes off the batch axis, so each sample computes alone). Shapes are propagated statically through
the net, because three translations need them: Pooling (Caffe's rounding and padding rules, written with explicit
pads or a Padding layer), Reshape (written with explicit sizes, since ncnn's 0 copies the same-named dimension, not
the one at the same index) and a Permute's order type.

A layer type or form this translation does not know raises UnsupportedLayer naming the layer, before anything is
written."""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = 7767517
TAGGED = 0   # the storage-type tag before a layer's first weight blob: raw float32


class UnsupportedLayer(ValueError):
    """A Caffe layer (or a form of one) that has no exact ncnn translation here; `layer` names it."""
    layer: str | None = None


class BatchAxisLayer(UnsupportedLayer):
    """A layer that works along the batch axis: ncnn computes one sample at a time and has none."""


@dataclass
class NcnnLayer:
    type: str
    name: str
    bottoms: list[str]
    tops: list[str]
    params: dict[int, object] = field(default_factory=dict)
    weights: list[tuple[bool, np.ndarray]] = field(default_factory=list)   # (tagged, data) in load_model order


@dataclass
class CaffeLayer:
    """What the translation reads of a Caffe layer: its type, names, parameters (a protobuf message or None) and
    weight blobs as arrays."""
    type: str
    name: str
    bottoms: list[str]
    tops: list[str]
    param: object
    blobs: list[np.ndarray]


def _float(value: float) -> str:
    # ncnn reads a token as a float only when it has a '.' or an exponent, and at most 15 characters (%.8e fits)
    return f"{float(value):.8e}"


def _format_param(key: int, value) -> str:
    if isinstance(value, (list, tuple)):
        floats = any(isinstance(v, float) for v in value)
        items = ",".join(_float(v) if floats else str(int(v)) for v in value)
        return f"{-23300 - key}={len(value)}" + (f",{items}" if value else "")
    return f"{key}={_float(value) if isinstance(value, float) else int(value)}"


def write_param(layers: list[NcnnLayer]) -> str:
    blobs = {name for layer in layers for name in (*layer.bottoms, *layer.tops)}
    lines = [str(MAGIC), f"{len(layers)} {len(blobs)}"]
    for layer in layers:
        params = " ".join(_format_param(k, v) for k, v in layer.params.items())
        lines.append(" ".join([layer.type, layer.name, str(len(layer.bottoms)), str(len(layer.tops)), *layer.bottoms,
                               *layer.tops, params]).rstrip())
    return "\n".join(lines) + "\n"


def write_bin(layers: list[NcnnLayer]) -> bytes:
    chunks = []
    for layer in layers:
        for tagged, data in layer.weights:
            if tagged:
                chunks.append(struct.pack("<I", TAGGED))
            chunks.append(np.ascontiguousarray(data, dtype="<f4").tobytes())
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------------------------
# Static shapes (Caffe's, without the batch axis)

def _pair(values, h_value, w_value, default: int) -> tuple[int, int]:
    if h_value or w_value:
        return int(h_value), int(w_value)
    values = list(values)
    if not values:
        return default, default
    return (int(values[0]), int(values[-1])) if len(values) > 1 else (int(values[0]), int(values[0]))


def _conv_geometry(p):
    kernel = _pair(p.kernel_size, p.kernel_h, p.kernel_w, 1)
    stride = _pair(p.stride, p.stride_h, p.stride_w, 1)
    pad = _pair(p.pad, p.pad_h, p.pad_w, 0)
    dilation = _pair(p.dilation, 0, 0, 1)
    return kernel, stride, pad, dilation


def _pool_geometry(p, hw):
    if p.global_pooling:
        return tuple(hw), (1, 1), (0, 0)
    kernel = (p.kernel_h, p.kernel_w) if p.kernel_h or p.kernel_w else (p.kernel_size, p.kernel_size)
    stride = (p.stride_h, p.stride_w) if p.stride_h or p.stride_w else (p.stride or 1, p.stride or 1)
    pad = (p.pad_h, p.pad_w) if p.pad_h or p.pad_w else (p.pad, p.pad)
    return tuple(map(int, kernel)), tuple(map(int, stride)), tuple(map(int, pad))


def caffe_pooled(size: int, kernel: int, stride: int, pad: int) -> int:
    """BVLC Caffe's pooled size: rounded up, then the last window clipped if it starts in the padding."""
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


# ---------------------------------------------------------------------------------------------------------------
# Translation

class Translation:
    """Caffe layers → ncnn layers, with each blob's Caffe shape (batch included) tracked as it goes."""

    def __init__(self, input_shapes: dict[str, tuple[int, ...]]):
        self.shape: dict[str, tuple[int, ...]] = {}
        self.renamed: dict[str, str] = {}    # Caffe blob → the ncnn blob that holds its latest value
        self.layers: list[NcnnLayer] = []
        self._layer_names: set[str] = set()
        self._blob_names: set[str] = set()
        self.input_shapes = input_shapes

    def blob(self, caffe_name: str) -> str:
        return self.renamed.get(caffe_name, caffe_name)

    @staticmethod
    def _unique(base: str, taken: set[str]) -> str:
        name, n = base, 1
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        """A blob name not used yet."""
        return self._unique(base, self._blob_names)

    def add(self, type_: str, name: str, bottoms, tops, params=None, weights=()) -> None:
        self.layers.append(NcnnLayer(type_, self._unique(name, self._layer_names), list(bottoms),
                                     None if tops is None else list(tops), dict(params or {}), list(weights)))

    def translate(self, layer: CaffeLayer) -> None:
        translate = TRANSLATORS.get(layer.type)
        if translate is None:
            unknown = UnsupportedLayer(f"layer '{layer.name}' ({layer.type}) has no ncnn translation here")
            unknown.layer = layer.name
            raise unknown
        bottoms = [self.blob(b) for b in layer.bottoms]
        unknown = [b for b in bottoms if b not in self.shape]
        if unknown:
            raise UnsupportedLayer(f"layer '{layer.name}' ({layer.type}) reads {', '.join(unknown)}, which no layer "
                                   f"before it writes")
        shapes = [self.shape[b] for b in bottoms]
        try:
            out_shapes = translate(self, layer, bottoms, shapes)
        except UnsupportedLayer as exc:
            exc.layer = layer.name
            raise
        tops = []
        for top in layer.tops:   # in-place layers get fresh tops: ncnn looks a name up by its first producer
            fresh = self.fresh(top if top not in self._blob_names else f"{top}_{layer.name}")
            self.renamed[top] = fresh
            tops.append(fresh)
        self.layers[-1].tops = tops
        for top, shape in zip(tops, out_shapes):
            self.shape[top] = tuple(int(d) for d in shape)

    def finish(self) -> list[NcnnLayer]:
        """Insert a Split after each blob with more than one consumer (ncnn frees a blob after its first reader)."""
        readers: dict[str, int] = {}
        for layer in self.layers:
            for bottom in layer.bottoms:
                readers[bottom] = readers.get(bottom, 0) + 1
        result, seen = [], {}
        for layer in self.layers:
            layer.bottoms = [self._split_name(b, readers, seen) for b in layer.bottoms]
            result.append(layer)
            for top in layer.tops:
                if readers.get(top, 0) > 1:
                    copies = [f"{top}_splitncnn_{i}" for i in range(readers[top])]
                    result.append(NcnnLayer("Split", self._unique(f"splitncnn_{top}", self._layer_names), [top],
                                            copies))
        return result

    @staticmethod
    def _split_name(blob: str, readers: dict[str, int], seen: dict[str, int]) -> str:
        if readers.get(blob, 0) <= 1:
            return blob
        index = seen.get(blob, 0)
        seen[blob] = index + 1
        return f"{blob}_splitncnn_{index}"


TRANSLATORS = {}


def translates(*types: str):
    def register(function):
        for t in types:
            TRANSLATORS[t] = function
        return function
    return register


def _emit(tr: Translation, type_: str, layer: CaffeLayer, bottoms, params=None, weights=()):
    """The ncnn layer that computes `layer` (its tops are named by Translation.translate)."""
    tr.add(type_, layer.name, bottoms, None, params, weights)


@translates("Input")
def _input(tr, layer, bottoms, shapes):
    shape = tuple(tr.input_shapes[layer.tops[0]])
    _emit(tr, "Input", layer, [], _sizes(shape[1:]))
    return [shape]


def _sizes(dims) -> dict[int, int]:
    """A shape without the batch as ncnn's size params: 0 = w, 1 = h, 2 = c (innermost first)."""
    return {key: int(d) for key, d in zip((0, 1, 2), reversed(list(dims)))}


def _convolution_layer(tr, layer, bottoms, type_: str, weight: np.ndarray):
    """A Convolution, Deconvolution or DeformableConv2D: ncnn's grouped form (…DepthWise) for a group > 1, geometry as (w, h) pairs,
    the weight tagged and the bias not."""
    p = layer.param
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _conv_geometry(p)
    group = p.group or 1
    params = {0: p.num_output, 1: kw, 11: kh, 2: dw, 12: dh, 3: sw, 13: sh, 4: pw, 14: ph, 15: pw, 16: ph,
              5: int(len(layer.blobs) > 1), 6: int(weight.size)}
    if group != 1:
        params[7] = group
    weights = [(True, weight)] + [(False, b) for b in layer.blobs[1:2]]
    _emit(tr, type_ if group == 1 else f"{type_}DepthWise", layer, bottoms, params, weights)
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw)


@translates("Convolution", "DeformableConv2D")
def _convolution(tr, layer, bottoms, shapes):
    """A Convolution, or ncnn's DeformableConv2D (bottoms data, offset, mask; the same params and weights)."""
    n, c, h, w = shapes[0]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _convolution_layer(tr, layer, bottoms, layer.type, layer.blobs[0])
    oh = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    ow = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    return [(n, layer.param.num_output, oh, ow)]


@translates("Deconvolution")
def _deconvolution(tr, layer, bottoms, shapes):
    n, c, h, w = shapes[0]
    group = layer.param.group or 1
    weight = layer.blobs[0]   # Caffe: (C_in, C_out/g, kh, kw); ncnn: per group (C_out/g, C_in/g, kh, kw)
    per_in = c // group
    reordered = np.concatenate([weight[g * per_in:(g + 1) * per_in].transpose(1, 0, 2, 3) for g in range(group)])
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _convolution_layer(tr, layer, bottoms, "Deconvolution", reordered)
    oh = (h - 1) * sh + dh * (kh - 1) + 1 - 2 * ph
    ow = (w - 1) * sw + dw * (kw - 1) + 1 - 2 * pw
    return [(n, layer.param.num_output, oh, ow)]


@translates("InnerProduct")
def _inner_product(tr, layer, bottoms, shapes):
    p = layer.param
    if p.transpose or _axis(p.axis, len(shapes[0])) != 1:
        raise UnsupportedLayer(f"layer '{layer.name}' (InnerProduct): transpose or an axis other than 1")
    bottom = bottoms[0]
    if len(shapes[0]) == 3:   # ncnn would apply a 2-D input row by row: flatten it as Caffe does
        flat = tr.fresh(f"{bottom}_flat")
        tr.add("Flatten", f"{layer.name}_flatten", [bottom], [flat])
        bottom = flat
    params = {0: p.num_output, 1: int(len(layer.blobs) > 1), 2: int(layer.blobs[0].size)}
    weights = [(True, layer.blobs[0])] + [(False, b) for b in layer.blobs[1:2]]
    _emit(tr, "InnerProduct", layer, [bottom], params, weights)
    return [(shapes[0][0], p.num_output)]


@translates("Pooling")
def _pooling(tr, layer, bottoms, shapes):
    p = layer.param
    n, c, h, w = shapes[0]
    (kh, kw), (sh, sw), (ph, pw) = _pool_geometry(p, (h, w))
    if p.pool not in (0, 1):
        raise UnsupportedLayer(f"layer '{layer.name}' (Pooling): only MAX and AVE pooling")
    oh, ow = caffe_pooled(h, kh, sh, ph), caffe_pooled(w, kw, sw, pw)
    if p.global_pooling:   # ncnn's global pooling returns a flat [C]; adaptive 1×1 keeps Caffe's C×1×1
        _emit(tr, "Pooling", layer, bottoms, {0: p.pool, 7: 1, 8: 1, 18: 1})
        return [(n, c, 1, 1)]
    right = (ow - 1) * sw + kw - w - pw
    bottom_pad = (oh - 1) * sh + kh - h - ph
    geometry = {1: kw, 11: kh, 2: sw, 12: sh}
    if p.pool == 0:   # MAX: explicit pads, no rounding of ncnn's own
        params = {0: 0, **geometry, 3: pw, 13: ph, 14: max(right, 0), 15: max(bottom_pad, 0), 5: 1}
        _emit(tr, "Pooling", layer, bottoms, params)
    elif ph == 0 and pw == 0:   # AVE without padding: ncnn's default leaves the rounded-up tail out, as Caffe
        _emit(tr, "Pooling", layer, bottoms, {0: 1, **geometry, 3: 0, 13: 0, 14: 0, 15: 0, 5: 0, 6: 0})
    elif right <= pw and bottom_pad <= ph:   # the padding counts, no window runs past it
        params = {0: 1, **geometry, 3: pw, 13: ph, 14: max(right, 0), 15: max(bottom_pad, 0), 5: 1, 6: 1}
        _emit(tr, "Pooling", layer, bottoms, params)
    else:   # zeros as data, then Caffe's unpadded rule (the tail past the padding does not count)
        padded = tr.fresh(f"{bottoms[0]}_padded")
        tr.add("Padding", f"{layer.name}_padding", bottoms, [padded], {0: ph, 1: ph, 2: pw, 3: pw, 4: 0, 5: 0.0})
        _emit(tr, "Pooling", layer, [padded], {0: 1, **geometry, 3: 0, 13: 0, 14: 0, 15: 0, 5: 0, 6: 0})
    return [(n, c, oh, ow)]


@translates("BatchNorm")
def _batch_norm(tr, layer, bottoms, shapes):
    mean, var = layer.blobs[0].ravel(), layer.blobs[1].ravel()
    factor = layer.blobs[2].ravel()[0] if len(layer.blobs) > 2 else 1.0
    factor = 0.0 if factor == 0 else 1.0 / factor
    eps = layer.param.eps
    channels = mean.size
    weights = [(False, np.ones(channels, np.float32)), (False, mean * factor), (False, var * factor + eps),
               (False, np.zeros(channels, np.float32))]
    _emit(tr, "BatchNorm", layer, bottoms, {0: channels}, weights)
    return [shapes[0]]


@translates("Scale")
def _scale(tr, layer, bottoms, shapes):
    bias = len(layer.blobs) > (1 if len(bottoms) == 1 else 0)
    if len(bottoms) == 1 and (_axis(layer.param.axis, len(shapes[0])) != 1 or layer.blobs[0].size != shapes[0][1]):
        raise UnsupportedLayer(f"layer '{layer.name}' (Scale): ncnn scales per channel only")
    if len(bottoms) == 2:
        if int(np.prod(shapes[1][1:])) != shapes[0][1]:
            raise UnsupportedLayer(f"layer '{layer.name}' (Scale): ncnn takes a second bottom of one value per channel")
        if layer.blobs:
            raise UnsupportedLayer(f"layer '{layer.name}' (Scale): two bottoms with a bias (ncnn reads no bias then)")
        _emit(tr, "Scale", layer, bottoms, {0: -233, 1: 0})
        return [shapes[0]]
    weights = [(False, layer.blobs[0])] + ([(False, layer.blobs[1])] if bias else [])
    _emit(tr, "Scale", layer, bottoms, {0: int(layer.blobs[0].size), 1: int(bias)}, weights)
    return [shapes[0]]


def _same_shape(type_: str, params=lambda p: {}):
    def translate(tr, layer, bottoms, shapes):
        _emit(tr, type_, layer, bottoms, params(layer.param))
        return [shapes[0]]
    return translate


# Layers that keep their input's shape, with their params (the Caffe message's own defaults apply: ncnn's differ)
TRANSLATORS.update({
    "ReLU": _same_shape("ReLU", lambda p: {0: float(p.negative_slope)}),
    "ReLU6": _same_shape("Clip", lambda p: {0: 0.0, 1: 6.0}),
    "ELU": _same_shape("ELU", lambda p: {0: float(p.alpha)}),
    "Sigmoid": _same_shape("Sigmoid"), "TanH": _same_shape("TanH"), "BNLL": _same_shape("BNLL"),
    "AbsVal": _same_shape("AbsVal"),
    "Exp": _same_shape("Exp", lambda p: {0: float(p.base), 1: float(p.scale), 2: float(p.shift)}),
    "Log": _same_shape("Log", lambda p: {0: -1.0, 1: 1.0, 2: 0.0}),
    "Power": _same_shape("Power", lambda p: {0: float(p.power), 1: float(p.scale), 2: float(p.shift)}),
    "LRN": _same_shape("LRN", lambda p: {0: int(p.norm_region), 1: int(p.local_size), 2: float(p.alpha),
                                         3: float(p.beta), 4: float(p.k)}),
    "Clip": _same_shape("Clip", lambda p: {0: float(p.min), 1: float(p.max)}),
    "ShuffleChannel": _same_shape("ShuffleChannel", lambda p: {0: int(p.group), 1: 0}),
    "HardSigmoid": _same_shape("HardSigmoid", lambda p: {0: float(p.alpha), 1: float(p.beta)}),
    "HardSwish": _same_shape("HardSwish", lambda p: {0: float(p.alpha), 1: float(p.beta)}),
})


@translates("PReLU")
def _prelu(tr, layer, bottoms, shapes):
    slopes = layer.blobs[0].ravel()
    _emit(tr, "PReLU", layer, bottoms, {0: int(slopes.size)}, [(False, slopes)])
    return [shapes[0]]


def _ncnn_axis(layer: CaffeLayer, axis: int, rank: int) -> int:
    """A Caffe axis (batch included) as ncnn's (without it); negative axes count the same from the end. An op along
    the batch axis mixes samples, which ncnn (one sample at a time) cannot."""
    if _axis(axis, rank) == 0:
        raise BatchAxisLayer(f"layer '{layer.name}' ({layer.type}) works along the batch axis, which ncnn has not")
    return axis if axis < 0 else axis - 1


@translates("Softmax")
def _softmax(tr, layer, bottoms, shapes):
    _emit(tr, "Softmax", layer, bottoms, {0: _ncnn_axis(layer, layer.param.axis, len(shapes[0])), 1: 1})
    return [shapes[0]]


@translates("Eltwise")
def _eltwise(tr, layer, bottoms, shapes):
    _emit(tr, "Eltwise", layer, bottoms, {0: int(layer.param.operation), 1: [float(v) for v in layer.param.coeff]})
    return [shapes[0]]


@translates("Concat")
def _concat(tr, layer, bottoms, shapes):
    axis = layer.param.axis
    at = _axis(axis, len(shapes[0]))
    out = list(shapes[0])
    out[at] = sum(s[at] for s in shapes)
    _emit(tr, "Concat", layer, bottoms, {0: _ncnn_axis(layer, axis, len(shapes[0]))})
    return [tuple(out)]


@translates("Slice")
def _slice(tr, layer, bottoms, shapes):
    if len(layer.tops) == 1:   # the whole blob (a one-top Slice cuts nothing, along any axis): a view
        _emit(tr, "Split", layer, bottoms)
        return [shapes[0]]
    p = layer.param
    axis = p.axis
    at = _axis(axis, len(shapes[0]))
    size = shapes[0][at]
    points = list(p.slice_point) or [size * (i + 1) // len(layer.tops) for i in range(len(layer.tops) - 1)]
    sizes = [b - a for a, b in zip([0, *points], [*points, size])]
    _emit(tr, "Slice", layer, bottoms, {0: sizes, 1: _ncnn_axis(layer, axis, len(shapes[0]))})
    return [tuple(s if i != at else part for i, s in enumerate(shapes[0])) for part in sizes]


@translates("Split")
def _split(tr, layer, bottoms, shapes):
    _emit(tr, "Split", layer, bottoms)
    return [shapes[0]] * len(layer.tops)


@translates("Silence")
def _silence(tr, layer, bottoms, shapes):
    _emit(tr, "Noop", layer, bottoms)
    return []


@translates("Flatten")
def _flatten(tr, layer, bottoms, shapes):
    axis, end = (_axis(a, len(shapes[0])) for a in (layer.param.axis, layer.param.end_axis))
    if axis != 1 or end != len(shapes[0]) - 1:
        raise UnsupportedLayer(f"layer '{layer.name}' (Flatten): only from axis 1 to the end")
    _emit(tr, "Flatten", layer, bottoms)
    return [(shapes[0][0], int(np.prod(shapes[0][1:])))]


@translates("Reshape")
def _reshape(tr, layer, bottoms, shapes):
    p = layer.param
    if p.axis != 0 or p.num_axes != -1:
        raise UnsupportedLayer(f"layer '{layer.name}' (Reshape): only the whole shape (axis 0, num_axes -1)")
    given = list(p.shape.dim)
    out = [shapes[0][i] if d == 0 else d for i, d in enumerate(given)]
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1]))
        out[out.index(-1)] = int(np.prod(shapes[0])) // known
    if out[0] != shapes[0][0]:
        raise BatchAxisLayer(f"layer '{layer.name}' (Reshape): it changes the batch axis, which ncnn has not")
    dims = out[1:] or [1]   # a blob of the batch alone holds one value per sample
    if len(dims) > 3:
        raise UnsupportedLayer(f"layer '{layer.name}' (Reshape): ncnn holds at most 3 dims besides the batch")
    _emit(tr, "Reshape", layer, bottoms, _sizes(dims))
    return [tuple(out)]


# ncnn's Permute order types for a 3-D Mat (Caffe's 4-D orders with the batch first) and a 2-D one
PERMUTE_ORDER_TYPES = {(0, 1, 2, 3): 0, (0, 1, 3, 2): 1, (0, 2, 1, 3): 2, (0, 2, 3, 1): 3, (0, 3, 1, 2): 4,
                       (0, 3, 2, 1): 5, (0, 1, 2): 0, (0, 2, 1): 1}


@translates("Permute")
def _permute(tr, layer, bottoms, shapes):
    order = tuple(layer.param.order)
    rank = len(shapes[0])
    order = order + tuple(i for i in range(rank) if i not in order)   # Caffe completes a short order in sequence
    if order not in PERMUTE_ORDER_TYPES:
        raise UnsupportedLayer(f"layer '{layer.name}' (Permute): order {order} has no ncnn order type")
    _emit(tr, "Permute", layer, bottoms, {0: PERMUTE_ORDER_TYPES[order]})
    return [tuple(shapes[0][i] for i in order)]


@translates("MatMul")
def _matmul(tr, layer, bottoms, shapes):
    """Each sample's (M, K) · (K, P): ncnn's MatMul of two 2-D Mats (h rows of w)."""
    if len(shapes[0]) != 3 or len(shapes[1]) != 3 or shapes[0][2] != shapes[1][1]:
        raise UnsupportedLayer(f"layer '{layer.name}' (MatMul): only (N, M, K) · (N, K, P)")
    (n, m, _), (_, _, p) = shapes
    _emit(tr, "MatMul", layer, bottoms, {0: 0})
    return [(n, m, p)]


@translates("Interp")
def _interp(tr, layer, bottoms, shapes):
    """Bilinear resizing of each plane to (height, width): ncnn's Interp, resize type 2, corners aligned or not."""
    if len(shapes[0]) != 4:
        raise UnsupportedLayer(f"layer '{layer.name}' (Interp): only 4-D blobs")
    p = layer.param
    _emit(tr, "Interp", layer, bottoms, {0: 2, 3: int(p.height), 4: int(p.width), 6: int(p.align_corners)})
    return [(*shapes[0][:2], int(p.height), int(p.width))]


@translates("Normalize")
def _normalize(tr, layer, bottoms, shapes):
    p = layer.param
    scale = layer.blobs[0].ravel()
    params = {0: int(p.across_spatial), 1: int(p.channel_shared), 2: float(p.eps), 3: int(scale.size), 4: 1, 9: 0}
    _emit(tr, "Normalize", layer, bottoms, params, [(False, scale)])
    return [shapes[0]]


def caffe_aspect_ratios(ratios, flip: bool) -> list[float]:
    """The aspect ratios Caffe's PriorBox makes boxes for after the min (and max) size boxes: each given ratio once
    (a ratio within 1e-6 of one already taken, 1 included, is skipped), with its reciprocal after it when flip."""
    taken = [1.0]
    for ratio in ratios:
        for candidate in (ratio, 1.0 / ratio) if flip else (ratio,):
            if all(abs(candidate - t) >= 1e-6 for t in taken):
                taken.append(candidate)
    return taken[1:]


@translates("PriorBox")
def _prior_box(tr, layer, bottoms, shapes):
    p = layer.param
    if len(bottoms) != 2:
        raise UnsupportedLayer(f"layer '{layer.name}' (PriorBox): ncnn's Caffe-style priors need the image as a "
                               "second bottom")
    if p.max_size and len(p.max_size) != len(p.min_size):
        raise UnsupportedLayer(f"layer '{layer.name}' (PriorBox): one max_size per min_size")
    variance = list(p.variance) or [0.1]
    variance = variance * 4 if len(variance) == 1 else variance
    image_h, image_w = (p.img_h, p.img_w) if p.img_h or p.img_w else (p.img_size or -233, p.img_size or -233)
    step_h, step_w = (p.step_h, p.step_w) if p.step_h or p.step_w else (p.step or -233.0, p.step or -233.0)
    # Caffe's own ratio list (duplicates and 1 dropped, reciprocals placed), written out with ncnn's flip off
    ratios = caffe_aspect_ratios(p.aspect_ratio, p.flip)
    params = {0: [float(v) for v in p.min_size], 1: [float(v) for v in p.max_size], 2: ratios,
              3: float(variance[0]), 4: float(variance[1]), 5: float(variance[2]), 6: float(variance[3]),
              7: 0, 8: int(p.clip), 9: int(image_w), 10: int(image_h), 11: float(step_w), 12: float(step_h),
              13: float(p.offset)}
    _emit(tr, "PriorBox", layer, bottoms, params)
    h, w = shapes[0][2:]
    priors = len(p.min_size) * (1 + len(ratios)) + len(p.max_size)
    return [(1, 2, 4 * h * w * priors)]


@translates("DetectionOutput")
def _detection_output(tr, layer, bottoms, shapes):
    """ncnn's DetectionOutput decodes CENTER_SIZE with the priors' own variances (their second row), class 0 the
    background, locations shared by every class: the only Caffe form it has. Its output is (detections, 6) rows
    [label, score, box] of one image, sorted by score (Caffe's: (1, 1, detections, 7) with the image first); a
    Caffe −1 for nms top_k or keep_top_k (no limit) is written as the number of priors or candidates."""
    p = layer.param
    code = p.DESCRIPTOR.fields_by_name["code_type"].enum_type.values_by_number[p.code_type].name
    problems = [reason for reason, bad in (
        ("code_type other than CENTER_SIZE", code != "CENTER_SIZE"),
        ("variance_encoded_in_target", p.variance_encoded_in_target),
        ("share_location false", not p.share_location), ("a background label other than 0", p.background_label_id != 0),
        ("an adaptive NMS eta", p.nms_param.eta != 1.0), ("a fourth bottom", len(bottoms) != 3)) if bad]
    if problems:
        raise UnsupportedLayer(f"layer '{layer.name}' (DetectionOutput): ncnn's layer has no {', '.join(problems)}")
    priors = shapes[2][-1] // 4
    top_k = p.nms_param.top_k if p.nms_param.HasField("top_k") and p.nms_param.top_k >= 0 else priors
    keep = p.keep_top_k if p.keep_top_k >= 0 else priors * p.num_classes
    threshold = p.confidence_threshold if p.HasField("confidence_threshold") else -3.0e38
    params = {0: int(p.num_classes), 1: float(p.nms_param.nms_threshold), 2: int(top_k), 3: int(keep),
              4: float(threshold)}
    _emit(tr, "DetectionOutput", layer, bottoms, params)
    return [(1, 1, keep, 7)]   # at most; a DetectionOutput's blob is read by no other layer


@translates("Yolov3DetectionOutput")
def _yolov3_detection_output(tr, layer, bottoms, shapes):
    """ncnn's own YOLOv3 decoder (written only under --ncnn-yolo-layer): its params as caffe2ncnn writes them, the
    mask and anchor scales as floats, which is how ncnn's layer reads them."""
    p = layer.param
    params = {0: int(p.num_classes), 1: int(p.num_box), 2: float(p.confidence_threshold), 3: float(p.nms_threshold),
              4: [float(v) for v in p.biases], 5: [float(v) for v in p.mask], 6: [float(v) for v in p.anchors_scale]}
    _emit(tr, "Yolov3DetectionOutput", layer, bottoms, params)
    return [(1, 6)]   # rows of one image; a detection layer's blob is read by no other layer


def translate_net(layers: list[CaffeLayer], input_shapes: dict[str, tuple[int, ...]]) -> tuple[list[NcnnLayer], dict]:
    """ncnn layers for one sample of the Caffe net, and the ncnn blob holding each Caffe blob's final value. Shapes
    keep the file's batch (a Reshape's sizes include it), and every layer's ncnn form leaves it out."""
    tr = Translation(input_shapes)
    for layer in layers:
        tr.translate(layer)
    return tr.finish(), dict(tr.renamed)


def caffe_layers(net, blobs_of) -> tuple[list[CaffeLayer], dict[str, tuple[int, ...]]]:
    """The layers of a NetParameter message, each with its weight blobs (`blobs_of(layer name)`: a list of arrays),
    and the net's inputs' shapes."""
    from backends.schema import LAYERS

    layers, inputs = [], {}
    for layer in net.layer:
        field_name = LAYERS.get(layer.type, (None,))[0]
        param = getattr(layer, field_name) if field_name else None
        if layer.type == "Input":
            inputs[layer.top[0]] = tuple(int(d) for d in param.shape[0].dim)
        layers.append(CaffeLayer(layer.type, layer.name, list(layer.bottom), list(layer.top), param,
                                 blobs_of(layer.name)))
    return layers, inputs


def read_caffe(prototxt: str, caffemodel: str) -> tuple[list[CaffeLayer], dict[str, tuple[int, ...]]]:
    """The layers of a Caffe net from its files (any dialect's fields are read; weights matched by layer name), and
    its inputs' shapes."""
    from google.protobuf import text_format

    from backends.schema import reader

    proto = reader()
    with open(prototxt, encoding="utf-8") as f:
        net = text_format.Parse(f.read(), proto.NetParameter(), allow_unknown_field=True)
    weights = proto.NetParameter()
    with open(caffemodel, "rb") as f:
        weights.ParseFromString(f.read())
    blobs = {layer.name: [_blob_array(b) for b in layer.blobs] for layer in weights.layer}
    return caffe_layers(net, lambda name: blobs.get(name, []))


def _blob_array(blob) -> np.ndarray:
    data = np.asarray(blob.data, dtype=np.float32)
    dims = list(blob.shape.dim) or [d for d in (blob.num, blob.channels, blob.height, blob.width) if d]
    return data.reshape(dims) if dims and int(np.prod(dims)) == data.size else data


@dataclass
class NcnnFiles:
    """A translated net: its ncnn layers (Splits included) and the ncnn blob holding each Caffe blob's value."""
    layers: list[NcnnLayer]
    renamed: dict[str, str]

    def param_text(self) -> str:
        return write_param(self.layers)

    def write_bin(self, stream) -> None:
        stream.write(write_bin(self.layers))


def translate_emitted(net, layers) -> NcnnFiles:
    """The translation of emitted layers (backends.emitters.Layer) whose prototxt is the NetParameter `net`."""
    # the blobs as they are (a ScaledArray is computed when a translation reads its values, or when written)
    blobs = {layer.name: list(layer.blobs) for layer in layers}
    caffe, inputs = caffe_layers(net, lambda name: blobs.get(name, []))
    return NcnnFiles(*translate_net(caffe, inputs))


def convert_files(prototxt: str, caffemodel: str, param_path: str, bin_path: str) -> dict[str, str]:
    """Write ncnn's .param and .bin for a Caffe net (one sample); returns the ncnn blob of each Caffe blob."""
    layers, inputs = read_caffe(prototxt, caffemodel)
    translated, renamed = translate_net(layers, inputs)
    with open(param_path, "w", encoding="utf-8") as f:
        f.write(write_param(translated))
    with open(bin_path, "wb") as f:
        f.write(write_bin(translated))
    return renamed
