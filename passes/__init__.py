"""Every pass, in canonical order; each is one function in a file of the same name with a stated contract."""
from __future__ import annotations

from passes.clip_to_relu import clip_to_relu
from passes.eliminate_dead_code import eliminate_dead_code
from passes.eliminate_identities import eliminate_identities
from passes.fold_batchnorm import fold_batchnorm
from passes.fold_constants import fold_constants
from passes.fold_input_normalization import fold_input_normalization
from passes.fold_scalar_arithmetic import fold_scalar_arithmetic
from passes.fuse_ssd_head import fuse_ssd_head
from passes.lower_batchnorm import lower_batchnorm
from passes.lower_broadcast_arithmetic import lower_broadcast_arithmetic
from passes.lower_l2_normalization import lower_l2_normalization
from passes.manager import Pass, PassContext, PassRecord, PassResult, Pipeline, Report
from passes.reorder_input_channels import reorder_input_channels
from passes.reorder_input_layout import reorder_input_layout
from passes.transpose_to_permute import transpose_to_permute

PASSES: tuple[Pass, ...] = tuple(Pass.from_function(f) for f in (
    eliminate_identities,
    lower_broadcast_arithmetic,
    reorder_input_layout,
    fold_constants,
    fuse_ssd_head,
    lower_l2_normalization,
    transpose_to_permute,
    fold_batchnorm,
    lower_batchnorm,
    fold_scalar_arithmetic,
    clip_to_relu,
    fold_input_normalization,
    reorder_input_channels,
    eliminate_dead_code,
))
REGISTRY: dict[str, Pass] = {p.name: p for p in PASSES}


def pipeline(names, *, disable=(), extra=()) -> Pipeline:
    """The named passes in order, minus `disable`, plus `extra` (Pass or function) appended."""
    from compiler.errors import ConversionError

    unknown = [n for n in list(names) + list(disable) if n not in REGISTRY]
    if unknown:
        raise ConversionError(f"unknown pass(es) {', '.join(unknown)}", hint=f"known: {', '.join(REGISTRY)}")
    chosen = [REGISTRY[n] for n in names if n not in set(disable)]
    chosen += [p if isinstance(p, Pass) else Pass.from_function(p) for p in extra]
    return Pipeline(chosen)


__all__ = ["PASSES", "REGISTRY", "pipeline", "Pass", "PassContext", "PassRecord", "PassResult", "Pipeline", "Report"]
