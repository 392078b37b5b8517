"""Emitters for compiler/ops/activation.py: ReLU, Sigmoid, TanH, BNLL, Exp, PReLU, ELU, Softmax and exact compositions."""
from __future__ import annotations

import math

import numpy as np

from backends.emitters import EmitContext, const, emitter, writes
from compiler.ops import AbsVal, Activation, Clip, Exp, HardSigmoid, HardSwish, LeakyReLU, Log, ReLU6, Softmax
from compiler.ops.activation import SELU_ALPHA, SELU_LAMBDA, ActivationFunction, LeakyFunction

# Each activation function as the Caffe layers that compute it (the first computes it alone, when there is one).
ACTIVATION_LAYERS = {ActivationFunction.RELU: ("ReLU",), ActivationFunction.SIGMOID: ("Sigmoid",),
                     ActivationFunction.TANH: ("TanH",), ActivationFunction.SOFTRELU: ("BNLL",),
                     ActivationFunction.SOFTSIGN: ("AbsVal", "Power", "Eltwise")}
LEAKY_LAYERS = {LeakyFunction.LEAKY: ("ReLU",), LeakyFunction.RRELU: ("ReLU",), LeakyFunction.PRELU: ("PReLU",),
                LeakyFunction.ELU: ("ELU",), LeakyFunction.SELU: ("ELU", "Power"), LeakyFunction.GELU: ()}


def _all_layers(table: dict) -> tuple[str, ...]:
    return tuple(dict.fromkeys(layer for layers in table.values() for layer in layers))


# eˣ where the consumer has no Exp layer (rknn-toolkit2 drops it): σ(x)/σ(−x) = eˣ, a ratio of two Sigmoids, the
# divisor inverted by a Power; exact to float rounding wherever eˣ is a normal float (docs/rknn.md#exp-and-elu-as-compositions).
EXP_COMPOSITION = ("Sigmoid", "Power", "Eltwise")
# ELU where the consumer has no ELU layer: max(x, 0) + α·(e^min(x, 0) − 1), eˣ as the consumer computes it.
ELU_COMPOSITION = ("ReLU", "Eltwise", "Power")


def _exp_layers(target) -> tuple[str, ...]:
    return ("Exp",) if "Exp" in target.layers else EXP_COMPOSITION


def _leaky_needs(act_type, target) -> tuple[str, ...]:
    layers = LEAKY_LAYERS[act_type]
    if "ELU" in layers and "ELU" not in target.layers:
        return tuple(layer for layer in layers if layer != "ELU") + ELU_COMPOSITION + _exp_layers(target)
    return layers


@writes("Exp", *EXP_COMPOSITION)
def write_exp(ctx: EmitContext, name: str, bottom: str, top: str, source=None) -> None:
    """e^bottom into `top`: an Exp layer, or σ(x)·(σ(−x))⁻¹ for a consumer without one."""
    if "Exp" in ctx.target.layers:
        ctx.add("Exp", name=name, bottoms=[bottom], tops=[top], source=source)
        return
    rising = ctx.new_blob(f"{name}_sigmoid")
    ctx.add("Sigmoid", name=f"{name}_sigmoid", bottoms=[bottom], tops=[rising])
    negated = ctx.new_blob(f"{name}_negated")
    ctx.add("Power", name=f"{name}_negated", bottoms=[bottom], tops=[negated], params={"power_param": {"scale": -1.0}})
    falling = ctx.new_blob(f"{name}_sigmoid_negated")
    ctx.add("Sigmoid", name=f"{name}_sigmoid_negated", bottoms=[negated], tops=[falling])
    inverse = ctx.new_blob(f"{name}_inverse")
    ctx.add("Power", name=f"{name}_inverse", bottoms=[falling], tops=[inverse], params={"power_param": {"power": -1.0}})
    ctx.add("Eltwise", name=name, bottoms=[rising, inverse], tops=[top], params={"eltwise_param": {"operation": "PROD"}},
            source=source)


def write_elu(ctx: EmitContext, name: str, bottom: str, top: str, alpha: float, source=None) -> None:
    """ELU with slope α into `top`: an ELU layer, or max(x, 0) + α·(e^min(x, 0) − 1) for a consumer without one."""
    if "ELU" in ctx.target.layers:
        ctx.add("ELU", name=name, bottoms=[bottom], tops=[top], params={"elu_param": {"alpha": alpha}}, source=source)
        return
    positive = ctx.new_blob(f"{name}_positive")
    ctx.add("ReLU", name=f"{name}_positive", bottoms=[bottom], tops=[positive])
    negative = ctx.new_blob(f"{name}_negative")
    ctx.add("Eltwise", name=f"{name}_negative", bottoms=[bottom, positive], tops=[negative],
            params={"eltwise_param": {"operation": "SUM", "coeff": [1.0, -1.0]}})
    exponential = ctx.new_blob(f"{name}_exp")
    write_exp(ctx, f"{name}_exp", negative, exponential)
    shifted = ctx.new_blob(f"{name}_shifted")
    ctx.add("Power", name=f"{name}_shifted", bottoms=[exponential], tops=[shifted],
            params={"power_param": {"scale": alpha, "shift": -alpha}})
    ctx.add("Eltwise", name=name, bottoms=[positive, shifted], tops=[top], params={"eltwise_param": {"operation": "SUM"}},
            source=source)


@emitter(Activation, layers=_all_layers(ACTIVATION_LAYERS),
         layers_for=lambda op, target: frozenset(ACTIVATION_LAYERS[op.attrs.act_type]))
def emit_activation(op, ctx: EmitContext) -> None:
    x = op.operands[0]
    layers = ACTIVATION_LAYERS[op.attrs.act_type]
    if len(layers) == 1:
        ctx.add(layers[0], name=op.name, bottoms=[ctx.bottom(x)], tops=[ctx.top(op.result)], source=op.result)
        return
    # softsign: x·(1+|x|)⁻¹ (docs/mxnet.md#activations)
    magnitude = ctx.new_blob(f"{op.name}_abs")
    ctx.add("AbsVal", name=f"{op.name}_abs", bottoms=[ctx.bottom(x)], tops=[magnitude])
    inverse = ctx.new_blob(f"{op.name}_inverse")
    ctx.add("Power", name=f"{op.name}_inverse", bottoms=[magnitude], tops=[inverse],
            params={"power_param": {"power": -1.0, "scale": 1.0, "shift": 1.0}})
    ctx.add("Eltwise", name=op.name, bottoms=[ctx.bottom(x), inverse], tops=[ctx.top(op.result)],
            params={"eltwise_param": {"operation": "PROD"}}, source=op.result)


def _leaky_legality(op, target) -> str | None:
    if not LEAKY_LAYERS[op.attrs.act_type]:
        return f"{op.attrs.act_type.upper()} has no exact Caffe layer or composition"
    return None


@emitter(LeakyReLU, layers=_all_layers(LEAKY_LAYERS) + ELU_COMPOSITION, helpers=(write_exp,),
         layers_for=lambda op, target: frozenset(_leaky_needs(op.attrs.act_type, target)), legal=_leaky_legality)
def emit_leaky_relu(op, ctx: EmitContext) -> None:
    a: LeakyReLU = op.attrs
    x = op.operands[0]
    bottom, top = ctx.bottom(x), ctx.top(op.result)
    if a.act_type in (LeakyFunction.LEAKY, LeakyFunction.RRELU):
        ctx.add("ReLU", name=op.name, bottoms=[bottom], tops=[top],
                params={"relu_param": {"negative_slope": a.inference_slope}}, source=op.result)
    elif a.act_type is LeakyFunction.PRELU:
        channels = x.type.shape[1]
        # A shared slope would need a 0-axis blob, which BVLC requires and OpenCV cannot load; the same slope
        # repeated per channel is exact everywhere.
        slopes = np.broadcast_to(const(op.operands[1]), (channels,))
        ctx.add("PReLU", name=op.name, bottoms=[bottom], tops=[top], params={"prelu_param": {"channel_shared": False}},
                blobs=[slopes], source=op.result)
    elif a.act_type is LeakyFunction.ELU:
        write_elu(ctx, op.name, bottom, top, a.slope, source=op.result)
    elif a.act_type is LeakyFunction.SELU:
        inner = ctx.new_blob(f"{op.name}_elu")
        write_elu(ctx, f"{op.name}_elu", bottom, inner, SELU_ALPHA)
        ctx.add("Power", name=op.name, bottoms=[inner], tops=[top],
                params={"power_param": {"scale": SELU_LAMBDA}}, source=op.result)
    else:
        raise AssertionError(f"no emission for LeakyReLU act_type {a.act_type}")


@emitter(Softmax, layers=("Softmax", "Power"))
def emit_softmax(op, ctx: EmitContext) -> None:
    a: Softmax = op.attrs
    x = op.operands[0]
    bottom = ctx.bottom(x)
    if a.temperature not in (None, 1.0):
        scaled = ctx.new_blob(f"{op.name}_scaled")
        ctx.add("Power", name=f"{op.name}_temperature", bottoms=[bottom], tops=[scaled],
                params={"power_param": {"scale": float(np.float32(1.0 / a.temperature))}})
        bottom = scaled
    ctx.add("Softmax", name=op.name, bottoms=[bottom], tops=[ctx.top(op.result)],
            params={"softmax_param": {"axis": a.positive_axis(x.type.rank)}}, source=op.result)


@emitter(ReLU6, layers=("ReLU6",))
def emit_relu6(op, ctx: EmitContext) -> None:
    ctx.add("ReLU6", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)], source=op.result)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


@emitter(Clip, layers=("Clip",))
def emit_clip(op, ctx: EmitContext) -> None:
    """A Clip the target's own layer computes (passes/clip_to_relu.py lowers it everywhere else). An open bound is
    written as ±FLT_MAX, which clamps every finite float32 as the open bound does (ncnn reads no infinity)."""
    bounds = {"min": max(op.attrs.a_min, -_FLOAT32_MAX), "max": min(op.attrs.a_max, _FLOAT32_MAX)}
    ctx.add("Clip", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"clip_param": bounds}, source=op.result)


@emitter(HardSigmoid, layers=("HardSigmoid",))
@emitter(HardSwish, layers=("HardSwish",))
def emit_hard_gate(op, ctx: EmitContext) -> None:
    """ncnn's HardSigmoid, or HardSwish (the gate times x): the same alpha and beta."""
    layer = "HardSwish" if op.isa(HardSwish) else "HardSigmoid"
    ctx.add(layer, name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"hard_sigmoid_param": {"alpha": op.attrs.alpha, "beta": op.attrs.beta}}, source=op.result)


@emitter(AbsVal, layers=("AbsVal",))
def emit_absval(op, ctx: EmitContext) -> None:
    ctx.add("AbsVal", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)], source=op.result)


@emitter(Log, layers=("Log",))
def emit_log(op, ctx: EmitContext) -> None:
    # Caffe's defaults (base −1 = e, scale 1, shift 0) are ln x.
    ctx.add("Log", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)], source=op.result)


@emitter(Exp, layers=("Power",), helpers=(write_exp,),
         layers_for=lambda op, target: frozenset(("Power",) + _exp_layers(target)))
def emit_exp(op, ctx: EmitContext) -> None:
    """e^x as a bare Exp (or its composition, write_exp). Any other base, scale or shift: base^(scale·x + shift) =
    e^(ln(base)·(scale·x + shift)), a Power then a bare Exp, because caffe2ncnn writes Exp without its parameters
    (ncnn's Exp is then e^x)."""
    a: Exp = op.attrs
    bottom = ctx.bottom(op.operands[0])
    if (a.base, a.scale, a.shift) != (math.e, 1.0, 0.0):
        log_base = math.log(a.base)
        exponent = ctx.new_blob(f"{op.name}_exponent")
        ctx.add("Power", name=f"{op.name}_exponent", bottoms=[bottom], tops=[exponent],
                params={"power_param": {"scale": log_base * a.scale, "shift": log_base * a.shift}})
        bottom = exponent
    write_exp(ctx, op.name, bottom, ctx.top(op.result), source=op.result)
