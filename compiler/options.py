"""Conversion options shared by the API, the CLI and the passes."""
from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Options:
    to_bgr: bool = False                     # the Caffe model takes BGR where the MXNet model takes RGB
    merge_bn: bool = True                    # fold BatchNorm into weights; False keeps BatchNorm + Scale layers
    softmax: bool = False                    # append a softmax over axis 1 to every output
    image_inputs: tuple[str, ...] = attrs.field(default=(), converter=tuple)   # inputs to_bgr applies to
    check_ir: bool = False                   # verify the IR after every pass
    dump_ir: str | None = None               # directory for the IR text after every pass
    disable_passes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
