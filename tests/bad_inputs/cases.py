"""The bad-input corpus: each case names its files, the CLI arguments, and the exact error a user must see.

Symbol files live in the case directories (`<case>/model-symbol.json`, derived from `good/`); params files are
binary, so each case says how to derive its own from the good one."""
from __future__ import annotations

import os

import struct

import attrs
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = "1,3,8,8"


def good_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {"conv0_weight": rng.standard_normal((4, 3, 3, 3)), "conv0_bias": rng.standard_normal(4),
            "fc0_weight": rng.standard_normal((3, 64)), "fc0_bias": rng.standard_normal(3)}


def save_params(path: str, params: dict[str, np.ndarray]) -> None:
    from tests.params_files import save_params as write

    write(path, params)


def _missing(params):
    del params["fc0_weight"]


def _wrong_shape(params):
    params["conv0_weight"] = params["conv0_weight"][:, :2]


def _extra(params):
    params["old_head_weight"] = np.zeros((10, 64))


def _nan(params):
    params["conv0_weight"][0, 0, 0, 0] = np.nan


def _truncate(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def _rewrite(edit):
    """A file edit: `edit(bytes) -> bytes` applied to the saved params file."""
    def apply(path):
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(edit(data))
    return apply


def _huge_shape(data: bytes) -> bytes:
    # array 0's header: magic (4), storage type (4), ndim (4), then its first dim (8) claims 2^40 rows
    start = 24
    return data[:start + 12] + struct.pack("<q", 2**40) + data[start + 20:]


def _unnamed(data: bytes) -> bytes:
    from tests.params_files import params_bytes

    return params_bytes([np.zeros(2, np.float32)])


@attrs.frozen
class Case:
    name: str
    symbol: str = "good"                  # directory of the symbol file
    edit_params: object = None            # function(dict) changing the params before saving
    edit_file: object = None              # function(path) damaging the saved params file
    args: tuple[str, ...] = ("--input-shape", SHAPE)
    output: str = "out/model"             # relative to the test's directory
    message: str = ""                     # what the CLI must print (after "gluon2caffe: error: ")


CASES = [
    Case("malformed_json", symbol="malformed_json",
         message="model-symbol.json is not valid JSON: Unterminated string starting at: line 22 column 5 (char 295) "
                 "-> pass the *-symbol.json written by export()"),
    Case("not_a_symbol", symbol="not_a_symbol",
         message="model-symbol.json is JSON but not an MXNet symbol (no 'nodes'/'heads') -> pass the "
                 "*-symbol.json written by HybridBlock.export()"),
    Case("dangling_reference", symbol="dangling_reference",
         message="node 'relu0', op relu: input refers to node 99, which does not exist -> the symbol file is "
                 "corrupt or was edited by hand"),
    Case("cycle", symbol="cycle",
         message="node 'relu0', op relu: input refers to node 5, which is not earlier in the list (a cycle or an "
                 "unsorted graph) -> the symbol file is corrupt or was edited by hand"),
    Case("missing_weight", edit_params=_missing,
         message="node 'fc0', op FullyConnected: variable 'fc0_weight' is neither an input nor a parameter -> add "
                 "'fc0_weight' to the params file, or pass its shape as an input"),
    Case("wrong_weight_shape", edit_params=_wrong_shape,
         message="node 'conv0', op Convolution: parameter 'conv0_weight' has shape (4, 2, 3, 3), the graph needs "
                 "(4, 3, 3, 3) -> the params file does not match the symbol"),
    Case("extra_weight", edit_params=_extra,
         message="1 parameter(s) are not used by the graph: old_head_weight -> the params file does not belong "
                 "to this symbol"),
    Case("truncated_params", edit_file=_truncate,
         message="is not a valid MXNet params file: array 2 (3, 64) of float32 needs 768 bytes, 154 are left (at byte "
                 "600) -> the file is truncated or corrupt; save it again with HybridBlock.export() or "
                 "save_parameters()"),
    Case("params_wrong_magic", edit_file=_rewrite(lambda d: b"\x13" + d[1:]),
         message="is not a valid MXNet params file: the header is 0x113, not MXNet's 0x112 (at byte 16)"),
    Case("params_empty", edit_file=_rewrite(lambda d: b""),
         message="is not a valid MXNet params file: the file header needs 16 bytes, 0 are left (at byte 0)"),
    Case("params_huge_shape", edit_file=_rewrite(_huge_shape),
         message="is not a valid MXNet params file: array 0 (1099511627776, 3, 3, 3) of float32 needs "
                 "118747255799808 bytes"),
    Case("params_name_not_utf8", edit_file=_rewrite(lambda d: d[:-1] + b"\xff"),
         message="is not a valid MXNet params file: name 3 is not UTF-8"),
    Case("params_sparse", edit_file=_rewrite(lambda d: d[:28] + struct.pack("<i", 1) + d[32:]),
         message="array 0 is stored as row_sparse, which has no dense values to convert"),
    Case("params_unnamed", edit_file=_rewrite(_unnamed),
         message="holds an unnamed list of arrays -> save with HybridBlock.export() so every array has its name"),
    Case("nan_weight", edit_params=_nan,
         message="node 'conv0', op Convolution: parameter 'conv0_weight' holds NaN or Inf values -> the weights are "
                 "corrupt; Caffe would propagate them silently"),
    Case("unknown_op", symbol="unknown_op",
         message="node 'relu0', op FancyNewOp: no lowering for this MXNet op -> see docs/ops.md for the "
                 "supported ops; open an issue with the model"),
    Case("lp_pooling", symbol="lp_pooling",
         message="1 op(s) cannot be expressed exactly for target 'caffe':\n  - pool0 (Pooling) as Pooling "
                 "{kernel=(2,2), pool_type=lp, global_pool=False, pooling_convention=valid, stride=(2,2), "
                 "pad=(0,0), count_include_pad=None, p_value=3, layout=None}: p_value 3: MXNet's Lp pooling takes the "
                 "real root of a signed sum of powers, which no Caffe layer computes (p 1 and 2 convert)"),
    # compiler/frontend/attr_parser never evaluates: the text is no literal, so it is refused.
    Case("code_in_attribute", symbol="code_in_attribute",
         message="node 'conv0', op Convolution, attribute 'kernel': cannot parse \"__import__('os').system('touch "
                 "/tmp/gluon2caffe_owned')\": trailing text"),
    Case("input_wrong_rank", args=("--input-shape", "1,3,8"),
         message="node 'conv0', op Convolution: shape rule failed for operands (f32[1,3,8], f32[4,3,3,3], f32[4]): "
                 "Convolution supports 2-D NCHW data only, got rank 3"),
    # The CLI checks shapes before it reads the model (the API's own check is in tests/frontend).
    Case("input_zero_dim", args=("--input-shape", "1,3,0,8"),
         message="argument --input-shape: '1,3,0,8': every dim must be a positive int (see gluon2caffe convert "
                 "--help)"),
    Case("input_negative_dim", args=("--input-shape", "1,3,-8,8"),
         message="argument --input-shape: '1,3,-8,8': every dim must be a positive int"),
    Case("input_name_unknown", args=("--input-shape", "image:1,3,8,8"),
         message="input 'image' does not exist in the graph -> its variables are: data"),
    Case("output_directory_missing", output="missing/dir/model",
         message="does not exist -> create it first"),
]
