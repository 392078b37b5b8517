"""The bad-input corpus: each case names its files, the CLI arguments, and the exact error a user must see.

Symbol files live in the case directories (`<case>/model-symbol.json`, derived from `good/`); params files are
binary, so each case says how to derive its own from the good one."""
from __future__ import annotations

import os

import attrs
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = "1,3,8,8"


def good_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {"conv0_weight": rng.standard_normal((4, 3, 3, 3)), "conv0_bias": rng.standard_normal(4),
            "fc0_weight": rng.standard_normal((3, 64)), "fc0_bias": rng.standard_normal(3)}


def save_params(path: str, params: dict[str, np.ndarray]) -> None:
    import mxnet as mx

    mx.nd.save(path, {f"arg:{k}": mx.nd.array(v) for k, v in params.items()})


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
    Case("truncated_params", edit_file=_truncate, message="cannot be read (truncated or not an MXNet params file)"),
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
    # MXNet's own loader refuses it first; compiler/frontend/attr_parser never evaluates either.
    Case("code_in_attribute", symbol="code_in_attribute",
         message="model-symbol.json: Invalid Parameter format for kernel expect Shape(tuple) but "
                 "value='__import__('os').system('touch /tmp/gluon2caffe_owned')', in operator Convolution(name=\"conv0\""),
    Case("input_wrong_rank", args=("--input-shape", "1,3,8"),
         message="MXNet's shape inference failed for inputs {'data': (1, 3, 8)}"),
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
