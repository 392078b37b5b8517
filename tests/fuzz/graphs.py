"""Hypothesis strategies for random small MXNet graphs built from the supported op mix."""
from __future__ import annotations

import mxnet as mx
from hypothesis import assume
from hypothesis import strategies as st

OPS = ("conv", "deconv", "batchnorm", "activation", "leaky", "pool", "global_pool", "clip", "scalar", "concat",
       "add", "reshape", "dropout", "transpose_pair", "broadcast_scale",
       # the model-zoo patterns: SE gate, adaptive pooling, bilinear resize, padding, nearest upsampling, channel
       # shuffle, ResNeSt's split attention (5-D values), a mean over channels
       "se_gate", "adaptive_pool", "resize", "pad", "upsample", "shuffle", "split_attention", "mean",
       # pose and segmentation heads: pixel shuffle (DUC), broadcast_like into a product
       "pixel_shuffle", "broadcast_like",
       # the symbol API's ops: max/min with a scalar or a branch, element-wise maths, hard sigmoid, max/min over
       # channels, LRN, InstanceNorm, a channel tile, a −inf pad before a max pooling
       "extreme", "math", "hard_sigmoid", "reduce_extreme", "lrn", "instance_norm", "tile", "pad_max")


class FuzzGraph(tuple):
    """(symbol, shapes, ops used, conversion options), printed as its nodes and options so that a failing example
    can be rebuilt by hand."""

    def __repr__(self) -> str:
        import json

        symbol, shapes, _, options = self
        nodes = [(n["op"], n["name"], n.get("attrs", {})) for n in json.loads(symbol.tojson())["nodes"]
                 if n["op"] != "null"]
        return f"FuzzGraph(shapes={shapes}, options={options!r}, nodes={nodes})"


@st.composite
def conversion_options(draw, channels: int):
    """Options a user may combine: to_bgr, raw-pixel normalisation (mean/std/input_scale), merge_bn, relu6."""
    from compiler.options import Options

    fields = {"to_bgr": draw(st.booleans()), "merge_bn": draw(st.booleans()),
              "relu6": draw(st.sampled_from(["exact", "approx"]))}
    normalise = draw(st.sampled_from(["none", "std", "mean_std", "scale_mean_std"]))
    if normalise != "none":
        per_channel = st.lists(st.sampled_from([0.5, 1.0, 57.5, 64.0]), min_size=channels, max_size=channels)
        fields["std"] = tuple(draw(per_channel))
        if normalise != "std":
            fields["mean"] = tuple(draw(st.lists(st.sampled_from([0.0, 0.4, 104.0, 123.7]), min_size=channels,
                                                 max_size=channels)))
        if normalise == "scale_mean_std":
            fields["input_scale"] = 1.0 / 255
    return Options(**fields)


def _shape(symbol, shapes):
    try:
        _, out, _ = symbol.infer_shape(**shapes)
    except mx.base.MXNetError:
        return None
    return out[0] if out else None


@st.composite
def small_graphs(draw):
    """(symbol, input shapes, the op kinds used, options): 1-5 layers on (1, C, H, W), an optional dense head, and
    conversion options (to_bgr is drawn with C = 3 half the time, so that it has an image to act on)."""
    c, h, w = draw(st.integers(1, 6)), draw(st.integers(4, 14)), draw(st.integers(4, 14))
    if draw(st.booleans()):
        c = 3
    options = draw(conversion_options(c))
    shapes = {"data": (1, c, h, w)}
    x = mx.sym.var("data")
    used = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(OPS))
        _, channels, height, width = _shape(x, shapes)
        if kind == "conv":
            kh, kw = draw(st.integers(1, min(5, height))), draw(st.integers(1, min(5, width)))
            groups = draw(st.sampled_from([g for g in (1, 2, 3, channels) if channels % g == 0]))
            filters = groups * draw(st.integers(1, 3))
            x = mx.sym.Convolution(x, kernel=(kh, kw), num_filter=filters, num_group=groups,
                                   stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                                   pad=(draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))),
                                   dilate=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                                   no_bias=draw(st.booleans()), name=f"conv{i}")
        elif kind == "deconv":
            k = draw(st.integers(1, 4))
            x = mx.sym.Deconvolution(x, kernel=(k, k), stride=(draw(st.integers(1, 2)),) * 2,
                                     pad=(draw(st.integers(0, k - 1)),) * 2, num_filter=draw(st.integers(1, 4)),
                                     no_bias=draw(st.booleans()), name=f"deconv{i}")
        elif kind == "batchnorm":
            x = mx.sym.BatchNorm(x, fix_gamma=draw(st.booleans()), eps=draw(st.sampled_from([1e-5, 1e-3, 0.1])),
                                 name=f"bn{i}")
        elif kind == "activation":
            x = mx.sym.Activation(x, act_type=draw(st.sampled_from(["relu", "sigmoid", "tanh", "softrelu",
                                                                    "softsign"])), name=f"act{i}")
        elif kind == "leaky":
            act = draw(st.sampled_from(["leaky", "elu", "prelu", "selu"]))
            if act == "prelu":
                x = mx.sym.LeakyReLU(x, act_type="prelu", gamma=mx.sym.var(f"prelu{i}_gamma"), name=f"prelu{i}")
            else:
                x = mx.sym.LeakyReLU(x, act_type=act, slope=draw(st.floats(0.01, 0.9)), name=f"leaky{i}")
        elif kind == "pool":
            kh, kw = draw(st.integers(1, min(4, height))), draw(st.integers(1, min(4, width)))
            x = mx.sym.Pooling(x, kernel=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                               pad=(draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))),
                               pool_type=draw(st.sampled_from(["max", "avg"])),
                               pooling_convention=draw(st.sampled_from(["valid", "full"])),
                               count_include_pad=draw(st.booleans()), name=f"pool{i}")
        elif kind == "global_pool":
            x = mx.sym.Pooling(x, kernel=(1, 1), global_pool=True, pool_type=draw(st.sampled_from(["max", "avg"])),
                               name=f"gpool{i}")
        elif kind == "clip":
            low = draw(st.sampled_from([0.0, -1.0, -0.5]))
            x = mx.sym.clip(x, low, low + draw(st.sampled_from([0.5, 1.0, 6.0])), name=f"clip{i}")
        elif kind == "scalar":
            op = draw(st.sampled_from(["plus", "minus", "mul", "div", "rminus"]))
            c_value = draw(st.sampled_from([0.5, 2.0, -1.5, 3.0]))
            x = {"plus": x + c_value, "minus": x - c_value, "mul": x * c_value, "div": x / c_value,
                 "rminus": c_value - x}[op]
        elif kind == "concat":
            branch = mx.sym.Convolution(x, kernel=(1, 1), num_filter=draw(st.integers(1, 3)), name=f"branch{i}")
            x = mx.sym.concat(x, branch, dim=1, name=f"cat{i}")
        elif kind == "add":
            branch = mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=channels, name=f"res{i}")
            x = mx.sym.elemwise_add(x, branch, name=f"add{i}")
        elif kind == "reshape":
            x = mx.sym.Reshape(mx.sym.Flatten(x, name=f"flat{i}"), shape=(0, channels, height, width),
                               name=f"unflat{i}")
        elif kind == "dropout":
            x = mx.sym.Dropout(x, p=0.5, name=f"drop{i}")
        elif kind == "transpose_pair":
            x = mx.sym.transpose(mx.sym.transpose(x, axes=(0, 2, 3, 1), name=f"nhwc{i}"), axes=(0, 3, 1, 2),
                                 name=f"nchw{i}")
        elif kind == "broadcast_scale":
            x = mx.sym.broadcast_mul(x, mx.sym.var(f"scale{i}", shape=(1, channels, 1, 1)), name=f"bscale{i}")
        elif kind == "se_gate":
            pooled = mx.sym.Pooling(x, kernel=(1, 1), global_pool=True, pool_type="avg", name=f"sepool{i}")
            gate = mx.sym.sigmoid(mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=channels, name=f"sefc{i}"))
            x = mx.sym.broadcast_mul(x, gate, name=f"segate{i}")
        elif kind == "adaptive_pool":
            size = (draw(st.integers(1, height)), draw(st.integers(1, width)))
            x = mx.sym.contrib.AdaptiveAvgPooling2D(x, output_size=size, name=f"apool{i}")
        elif kind == "resize":
            x = mx.sym.contrib.BilinearResize2D(x, height=draw(st.integers(2, 16)), width=draw(st.integers(2, 16)),
                                                align_corners=draw(st.booleans()), name=f"resize{i}")
        elif kind == "pad":
            mode = draw(st.sampled_from(["constant", "edge", "reflect"]))
            limit_h, limit_w = (height - 1, width - 1) if mode == "reflect" else (3, 3)
            widths = [draw(st.integers(0, min(3, limit_h))) for _ in range(2)] + \
                [draw(st.integers(0, min(3, limit_w))) for _ in range(2)]
            x = mx.sym.pad(x, mode=mode, pad_width=(0, 0, 0, 0, *widths), name=f"pad{i}")
        elif kind == "upsample":
            assume(height <= 16 and width <= 16)
            x = mx.sym.UpSampling(x, scale=draw(st.integers(2, 3)), sample_type="nearest", num_args=1,
                                  name=f"up{i}")
        elif kind == "shuffle":
            groups = draw(st.sampled_from([g for g in (2, 3) if channels % g == 0] or [1]))
            split = mx.sym.reshape(x, shape=(0, -4, groups, -1, -2), name=f"split{i}")
            x = mx.sym.reshape(mx.sym.SwapAxis(split, dim1=1, dim2=2, name=f"swap{i}"), shape=(0, -3, -2),
                               name=f"shuffled{i}")
        elif kind == "split_attention":
            assume(channels % 2 == 0)
            splits = mx.sym.reshape(mx.sym.expand_dims(x, axis=1), shape=(0, 2, channels // 2, 0, 0),
                                    name=f"splits{i}")
            pooled = mx.sym.Pooling(mx.sym.sum(splits, axis=1), kernel=(1, 1), global_pool=True, pool_type="avg")
            logits = mx.sym.Convolution(pooled, kernel=(1, 1), num_filter=channels, name=f"safc{i}")
            gate = mx.sym.reshape(mx.sym.softmax(mx.sym.reshape(logits, shape=(0, 2, -1)), axis=1),
                                  shape=(0, 2, -1, 1, 1))
            x = mx.sym.sum(mx.sym.broadcast_mul(gate, splits), axis=1, name=f"attended{i}")
        elif kind == "pixel_shuffle":
            f1, f2 = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            assume(height * f1 <= 24 and width * f2 <= 24)
            x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=f1 * f2 * draw(st.integers(1, 2)), name=f"duc{i}")
            x = mx.sym.reshape(mx.sym.reshape(x, shape=(0, -4, -1, f1 * f2, 0, 0)), shape=(0, 0, -4, f1, f2, 0, 0))
            x = mx.sym.reshape(mx.sym.transpose(x, axes=(0, 1, 4, 2, 5, 3), name=f"shuffle{i}"), shape=(0, 0, -3, -3))
        elif kind == "broadcast_like":
            gate = mx.sym.sigmoid(mx.sym.mean(x, axis=(2, 3), keepdims=True))
            x = mx.sym.broadcast_like(gate, x, name=f"like{i}") * x
        elif kind == "mean":
            x = mx.sym.mean(x, axis=1, keepdims=True, name=f"mean{i}")
        elif kind == "extreme":
            op = draw(st.sampled_from(["maximum", "minimum"]))
            other = draw(st.sampled_from([0.0, -0.5, 0.7]) | st.just("branch"))
            if other == "branch":
                other = mx.sym.Convolution(x, kernel=(1, 1), num_filter=channels, name=f"other{i}")
            x = getattr(mx.sym, op)(x, other)
        elif kind == "math":
            op = draw(st.sampled_from(["abs", "square", "sqrt", "negative"]))
            x = mx.sym.sqrt(mx.sym.abs(x) + 0.1) if op == "sqrt" else getattr(mx.sym, op)(x, name=f"math{i}")
        elif kind == "hard_sigmoid":
            x = mx.sym.hard_sigmoid(x, alpha=draw(st.sampled_from([0.2, 1 / 6])), beta=0.5, name=f"hsig{i}")
        elif kind == "reduce_extreme":
            x = getattr(mx.sym, draw(st.sampled_from(["max", "min"])))(x, axis=1, keepdims=True, name=f"ext{i}")
        elif kind == "lrn":
            x = mx.sym.LRN(x, nsize=draw(st.sampled_from([1, 3, 5])), alpha=draw(st.sampled_from([1e-4, 0.01])),
                           beta=0.75, knorm=draw(st.sampled_from([1.0, 2.0])), name=f"lrn{i}")
        elif kind == "instance_norm":
            x = mx.sym.InstanceNorm(x, mx.sym.var(f"in{i}_gamma"), mx.sym.var(f"in{i}_beta"),
                                    eps=draw(st.sampled_from([1e-5, 1e-3])), name=f"in{i}")
        elif kind == "tile":
            x = mx.sym.tile(x, reps=(1, draw(st.integers(1, 3)), 1, 1), name=f"tile{i}")
        elif kind == "pad_max":
            pads = [draw(st.integers(0, 1)) for _ in range(4)]
            x = mx.sym.Pooling(mx.sym.pad(x, mode="constant", constant_value=-float("inf"),
                                          pad_width=(0, 0, 0, 0, *pads), name=f"minf_pad{i}"),
                               kernel=(2, 2), stride=(2, 2), pool_type="max", name=f"pad_pool{i}")
        assume(_shape(x, shapes) is not None and min(_shape(x, shapes)) >= 1)
        used.append(kind)
    if options.to_bgr and c == 3 and draw(st.booleans()):
        # A 1×1 convolution at the end takes the reversed channels in, so that to_bgr has something to act on
        # besides a refusal (the reversal would otherwise reach the output).
        x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name="bgr_sink")
        used.append("conv")
    head = draw(st.sampled_from(["none", "dense", "softmax", "log_softmax", "argmax"]))
    if head == "dense":
        x = mx.sym.FullyConnected(x, num_hidden=draw(st.integers(1, 5)), name="fc")
        used.append("dense")
    elif head == "softmax":
        x = mx.sym.softmax(x, axis=1, name="prob")
        used.append("softmax")
    elif head == "log_softmax":
        x = mx.sym.log_softmax(x, axis=1, name="log_prob")
        used.append("log_softmax")
    elif head == "argmax":
        x = mx.sym.argmax(x, axis=1, name="label")
        used.append("argmax")
    return FuzzGraph((x, shapes, used, options))
