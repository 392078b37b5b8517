"""Every pass, in the one canonical order. Each is one function in passes/<name>.py declared with @compiler_pass: its
contract, the ops it reads and adds, and the passes it must follow or precede, with the reason (checked here against
ORDER when the package loads). A target runs this list minus the passes it drops (backends.Target.dropped_passes);
a pass that does not apply to a target checks the target's layers itself and does nothing. What several passes
share lives in passes/support/."""
from __future__ import annotations

import importlib

from passes.manager import (Pass, PassContext, PassRecord, PassResult, Pipeline, Report, compiler_pass,
                            ordering_problems)

ORDER = (
    "eliminate_identities",
    "fold_constants",
    "fuse_box_nms",
    "fold_padding",
    "lower_lp_pooling",
    "absorb_broadcast_like",
    "lower_log_softmax",
    "lower_instance_norm",
    "lower_norm",
    "decompose_l2_normalization",
    "lower_argmax",
    "lower_repeats",
    "lower_pixel_shuffle",
    "lower_rank",
    "lower_broadcast_arithmetic",
    "reorder_input_layout",
    "fuse_ssd_head",
    "lower_l2_normalization",
    "transpose_to_permute",
    "lower_transpose",
    "fold_batchnorm",
    "lower_batchnorm",
    "fold_scalar_arithmetic",
    "fuse_hard_activations",
    "clip_to_relu",
    "fold_input_normalization",
    "reorder_input_channels",
    "eliminate_dead_code",
)
PASSES: tuple[Pass, ...] = tuple(
    Pass.from_function(getattr(importlib.import_module(f"passes.{name}"), name)) for name in ORDER)
REGISTRY: dict[str, Pass] = {p.name: p for p in PASSES}
if ordering_problems(PASSES):
    raise TypeError("the pass order breaks declared constraints: " + "; ".join(ordering_problems(PASSES)))


def pipeline(names=ORDER, *, disable=(), extra=()) -> Pipeline:
    """The named passes in canonical order, minus `disable`, plus `extra` (Pass or function) appended."""
    from compiler.errors import ConversionError

    unknown = [n for n in list(names) + list(disable) if n not in REGISTRY]
    if unknown:
        raise ConversionError(f"unknown pass(es) {', '.join(unknown)}", hint=f"known: {', '.join(REGISTRY)}")
    chosen = [REGISTRY[n] for n in names if n not in set(disable)]
    chosen += [p if isinstance(p, Pass) else Pass.from_function(p, declared=False) for p in extra]
    return Pipeline(chosen)


__all__ = ["ORDER", "PASSES", "REGISTRY", "pipeline", "compiler_pass", "Pass", "PassContext", "PassRecord", "PassResult",
           "Pipeline", "Report"]
