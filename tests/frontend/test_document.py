"""The symbol JSON reader (compiler/frontend/document.py) on every vintage: MXNet-free tests of each upgrade, then,
where MXNet is installed, the same documents and the real checkpoints read exactly as MXNet reads them."""
import glob
import json
import os

import pytest

from compiler.errors import BadModel
from compiler.frontend.document import MXNET_ALIASES, SymbolNode, parse_symbol_json
from tests.wild import require_wild_models


def _symbol(nodes, heads, version=None):
    document = {"nodes": nodes, "arg_nodes": [], "heads": heads}
    if version is not None:
        document["attrs"] = {"mxnet_version": ["int", version]}
    return json.dumps(document)


def _var(name):
    return {"op": "null", "name": name, "inputs": []}


# (id, symbol text, what our reading must show); every one is also read by MXNet in the test below.
PARAM_AND_ATTR = _symbol([_var("x"), {"op": "Activation", "name": "a", "param": {"act_type": "relu"},
                                      "attr": {"lr_mult": "2", "ctx_group": "g"}, "inputs": [[0, 0]]}], [[1, 0]])
LATER_FIELD_WINS = _symbol([_var("x"), {"op": "Activation", "name": "a", "attrs": {"act_type": "relu"},
                                        "attr": {"act_type": "tanh"}, "inputs": [[0, 0, 0]]}], [[1, 0, 0]], 10901)
OLD_BATCHNORM = _symbol([_var("x"), _var("bn_gamma"), _var("bn_beta"),
                         {"op": "BatchNorm", "name": "bn", "param": {"eps": "0.001"}, "inputs": [[0, 0], [1, 0], [2, 0]],
                          "backward_source_id": -1},
                         {"op": "Activation", "name": "r", "param": {"act_type": "relu"}, "inputs": [[3, 0]]}],
                        [[4, 0]])
OLD_ARGMAX = _symbol([_var("x"), {"op": "argmax", "name": "m", "attr": {"axis": "-1"}, "inputs": [[0, 0]]}],
                     [[1, 0]], 904)
NEW_ARGMAX = _symbol([_var("x"), {"op": "argmax", "name": "m", "attrs": {"axis": "-1"}, "inputs": [[0, 0]]}],
                     [[1, 0]], 10901)
ALIASES = _symbol([_var("x"), _var("y"), {"op": "_Plus", "name": "p", "inputs": [[0, 0], [1, 0]]},
                   {"op": "reshape", "name": "r", "attrs": {"shape": "(-1,)"}, "inputs": [[2, 0]]}], [[3, 0]], 10901)
UNREACHABLE_AND_UNSORTED = _symbol(
    [_var("x"), _var("w"), {"op": "Activation", "name": "dead", "attrs": {"act_type": "relu"}, "inputs": [[0, 0]]},
     {"op": "elemwise_add", "name": "s", "inputs": [[1, 0], [0, 0]]},
     {"op": "Activation", "name": "out", "attrs": {"act_type": "relu"}, "inputs": [[3, 0]]}], [[4, 0], [3, 0]], 10901)
DOCUMENTS = {"param_and_attr": PARAM_AND_ATTR, "later_field_wins": LATER_FIELD_WINS, "old_batchnorm": OLD_BATCHNORM,
             "old_argmax": OLD_ARGMAX, "new_argmax": NEW_ARGMAX, "aliases": ALIASES,
             "unreachable_and_unsorted": UNREACHABLE_AND_UNSORTED}


def test_param_and_attr_merge_and_hidden_keys_go():
    node = parse_symbol_json(PARAM_AND_ATTR).nodes[1]
    assert node.attrs == {"act_type": "relu"}


def test_a_later_attribute_field_replaces_an_earlier_key():
    assert parse_symbol_json(LATER_FIELD_WINS).nodes[1].attrs == {"act_type": "tanh"}


def test_batchnorm_statistics_of_old_files_become_variables_before_the_node():
    document = parse_symbol_json(OLD_BATCHNORM)
    assert [n.name for n in document.nodes] == ["x", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var", "bn",
                                                "r"]
    assert document.nodes[5].inputs == ((0, 0), (1, 0), (2, 0), (3, 0), (4, 0))
    assert document.nodes[5].attrs == {"eps": "0.001"}
    assert document.heads == ((6, 0),)


def test_argmax_axis_minus_one_meant_all_axes_before_0_9_5():
    assert parse_symbol_json(OLD_ARGMAX).nodes[1].attrs == {}
    assert parse_symbol_json(NEW_ARGMAX).nodes[1].attrs == {"axis": "-1"}


def test_aliases_become_registered_names():
    assert [n.op for n in parse_symbol_json(ALIASES).nodes] == ["null", "null", "elemwise_add", "Reshape"]


def test_nodes_follow_mxnets_depth_first_order_without_unreachable_ones():
    document = parse_symbol_json(UNREACHABLE_AND_UNSORTED)
    assert [n.name for n in document.nodes] == ["w", "x", "s", "out"]
    assert document.heads == ((3, 0), (2, 0))
    assert document.nodes[2] == SymbolNode("s", "elemwise_add", {}, ((0, 0), (1, 0)))


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "not an MXNet symbol"),
    (_symbol([{"op": "null"}], [[0, 0]]), "lacks 'op' or 'name'"),
    (_symbol([_var("x"), {"op": "relu", "name": "r", "inputs": [[0, "0"]]}], [[1, 0]]), "malformed input entry"),
    (_symbol([_var("x"), {"op": "relu", "name": "r", "inputs": [[0, 0]], "attrs": {"k": 3}}], [[1, 0]]),
     "is not a string"),
    (_symbol([_var("x")], []), "lists no outputs"),
    (_symbol([_var("x")], [[4, 0]]), "refers to no node"),
    (_symbol([{"op": "null", "name": "x", "inputs": [[0, 0]]}], [[0, 0]]), "not earlier in the list"),
    ("[" * 100000 + "]" * 100000, "nests too deeply"),
])
def test_damaged_symbols_are_one_clear_error(text, message):
    with pytest.raises(BadModel, match=message):
        parse_symbol_json(text)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_mxnet_reads_each_vintage_as_we_do(name):
    pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) is the reference reader")
    from compiler.frontend.mxnet_check import mxnet_document

    assert parse_symbol_json(DOCUMENTS[name]) == mxnet_document(DOCUMENTS[name])


def test_mxnet_reads_every_real_checkpoint_as_we_do():
    pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) is the reference reader")
    from compiler.frontend.mxnet_check import mxnet_document

    files = sorted(glob.glob(os.path.join(require_wild_models(), "*", "*.json")))
    assert len(files) >= 7
    for path in files:
        with open(path) as f:
            text = f.read()
        assert parse_symbol_json(text) == mxnet_document(text), path


def test_every_alias_is_mxnets():
    """The alias table against MXNet's op registry: each alias resolves to the registered name given, and every
    name the converter lowers or refuses is either registered under that name or an alias in the table."""
    mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) holds the op registry")
    from compiler.frontend.symbol import NO_CAFFE_FORM
    from compiler.ir.opdef import MXNET_CLAIMS

    import ctypes

    def registered(name):
        """The registered name MXNet's registry gives `name` (None: unknown to MXNet), via its C API."""
        handle, real = ctypes.c_void_p(), ctypes.c_char_p()
        if mx.base._LIB.NNGetOpHandle(mx.base.c_str(name), ctypes.byref(handle)) != 0 or not handle.value:
            return None
        unused = [ctypes.c_char_p(), ctypes.c_uint(), ctypes.POINTER(ctypes.c_char_p)(),
                  ctypes.POINTER(ctypes.c_char_p)(), ctypes.POINTER(ctypes.c_char_p)(), ctypes.c_char_p()]
        mx.base.check_call(mx.base._LIB.NNGetOpInfo(handle, ctypes.byref(real), *map(ctypes.byref, unused)))
        return mx.base.py_str(real.value)

    for alias, name in MXNET_ALIASES.items():
        assert registered(alias) == name, alias
    for name in sorted(set(MXNET_CLAIMS) | set(NO_CAFFE_FORM)):
        resolved = registered(name)
        assert resolved is None or MXNET_ALIASES.get(name, name) == resolved, name
