"""Regressions for conversions that once gave wrong numbers, tracebacks or half-written results without saying so.

Each test failed before its fix; the docstring says what used to happen."""
import os

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from compiler import Options, compile_model
from compiler.driver.cli import main
from compiler.errors import UnsupportedOp
from tests.helpers import convert_and_compare, random_params


def _export(tmp_path, symbol, shapes, name="m", seed=0):
    params = random_params(symbol, shapes, seed)
    symbol.save(str(tmp_path / f"{name}-symbol.json"))
    mx.nd.save(str(tmp_path / f"{name}-0000.params"), {f"arg:{k}": mx.nd.array(v) for k, v in params.items()})
    return str(tmp_path / f"{name}-symbol.json"), str(tmp_path / f"{name}-0000.params")


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- to_bgr and input normalisation must know where the channel axis is --------------------------------------

def _last_axis_dense(width=6, hidden=5):
    return mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=hidden, flatten=False, name="dense")


@pytest.mark.parametrize("width", [6, 4, 5])
def test_to_bgr_into_a_last_axis_dense_is_exact_or_refused(tmp_path, capsys, width):
    """Was: the (O, W) weight reshaped as (O, C, -1) and reversed, exit 0 and 0.98 relative error (W % C == 0), or a
    'converter bug' crash (W % C != 0). A last-axis dense layer acts on every channel alike, so the reversed channels
    reach the output, which cannot be made exact: the CLI must refuse with exit 2."""
    symbol_path, params_path = _export(tmp_path, _last_axis_dense(), {"data": (1, 3, 4, width)})
    code, _, err = _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape", f"1,3,4,{width}",
                        "-o", tmp_path / "out", "--to-bgr", "--verify")
    assert code == 2, err
    assert "dense" in err and "to_bgr" in err and "Traceback" not in err
    assert not (tmp_path / "out.prototxt").exists()


def test_to_bgr_through_a_last_axis_dense_into_a_convolution_is_exact(tmp_path):
    """The reversal passes through a last-axis dense layer (it treats channels alike) to the convolution."""
    x = _last_axis_dense(hidden=6)
    symbol = mx.sym.Convolution(x, kernel=(3, 3), num_filter=4, name="conv")
    shapes = {"data": (1, 3, 5, 6)}
    compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                      options=Options(to_bgr=True))
    assert [layer.type for layer in compiled.layers] == ["Input", "InnerProduct", "Convolution"]


@pytest.mark.parametrize("width", [6, 5])
def test_input_std_before_a_last_axis_dense_is_exact(tmp_path, capsys, width):
    """Was: fold_input_normalization reshaped the (O, W) weight as (O, C, -1) too: wrong numbers or a crash."""
    symbol_path, params_path = _export(tmp_path, _last_axis_dense(), {"data": (1, 3, 4, width)})
    code, out, err = _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape",
                          f"1,3,4,{width}", "-o", tmp_path / "out", "--std", "2,3,4", "--input-scale", "0.5",
                          "--verify", "--runtime", "opencv")
    assert code == 0, err
    assert "ok" in out


# -- bad attributes give exit 2, never a traceback ------------------------------------------------------------

def test_unparsable_comparison_scalar_is_a_clear_error():
    """Was: `_greater_scalar` with an unparsable scalar escaped as a ValueError traceback (MXNet's loader catches
    'abc' itself, so the frontend's own check is tested where it runs: the node's builder)."""
    from compiler.errors import ConversionError
    from compiler.frontend.lowering import NodeContext, builder_for
    from compiler.ir import Graph, Origin, TensorType

    graph = Graph()
    x = graph.input("data", TensorType((1, 2)))
    context = NodeContext(graph, "gt0", "_greater_scalar", {"scalar": "abc"}, [x], [(1, 2)],
                          Origin("gt0", "_greater_scalar"))
    with pytest.raises(ConversionError, match="node 'gt0', op _greater_scalar, attribute 'scalar'"):
        builder_for("_greater_scalar")(context)


def test_scalar_with_a_float_suffix_converts_like_mxnet_reads_it(tmp_path, capsys):
    """MXNet reads scalar='1.5f' as 1.5; so do we (it used to end in a traceback)."""
    import json

    x = mx.sym.var("data")
    symbol = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name="conv") * 2.0
    symbol_path, params_path = _export(tmp_path, symbol, {"data": (1, 3, 4, 4)})
    document = json.loads(open(symbol_path).read())
    for node in document["nodes"]:
        if node["op"] == "_mul_scalar":
            node["attrs"]["scalar"] = "1.5f"
    open(symbol_path, "w").write(json.dumps(document))
    code, out, err = _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape", "1,3,4,4",
                          "-o", tmp_path / "out", "--verify")
    assert code == 0 and "ok" in out, err


# -- verify compares every output, or says which it cannot --------------------------------------------------

def test_verify_fails_when_the_files_have_other_outputs_than_the_model(tmp_path, capsys):
    """Was: outputs paired by zip, so a model with fewer outputs than the files verified 'ok'. Now verify first
    finds that the files are not what this model converts to, and says so (exit 2)."""
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    two = mx.sym.Group([mx.sym.relu(conv, name="relu"), mx.sym.sigmoid(conv, name="sig")])
    shapes = {"data": (1, 3, 8, 8)}
    symbol_path, params_path = _export(tmp_path, two, shapes, "two")
    assert _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape", "1,3,8,8",
                "-o", tmp_path / "two")[0] == 0
    one = mx.sym.relu(conv, name="relu")
    one.save(str(tmp_path / "one-symbol.json"))
    code, out, err = _run(capsys, "verify", tmp_path / "two", tmp_path / "one-symbol.json", "--params", params_path,
                          "--input-shape", "1,3,8,8")
    assert code == 2, out + err
    assert "not converted from this model" in err


# -- options are never dropped ------------------------------------------------------------------------------

def test_compile_model_merges_keyword_fields_into_options():
    """Was: compile_model(options=..., to_bgr=True) dropped to_bgr silently."""
    symbol = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=2, name="conv")
    block, params = _block(symbol, {"data": (1, 3, 4, 4)}, seed=0)
    compiled = compile_model(block, (1, 3, 4, 4), options=Options(merge_bn=False), to_bgr=True)
    weight = compiled.layers[1].blobs[0]
    np.testing.assert_array_equal(weight, params["conv_weight"][:, ::-1])


def test_per_layer_verification_refuses_files_made_with_other_options(tmp_path, capsys):
    """Was: verify --per-layer rebuilt Options without relu6 (and the SSD fields), so it could check another
    conversion than the one on disk and report it correct."""
    x = mx.sym.clip(mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name="conv"), 0, 6,
                    name="relu6")
    symbol_path, params_path = _export(tmp_path, x, {"data": (1, 3, 8, 8)})
    assert _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape", "1,3,8,8",
                "-o", tmp_path / "m", "--relu6", "approx")[0] == 0
    code, out, err = _run(capsys, "verify", tmp_path / "m", symbol_path, "--params", params_path, "--input-shape",
                          "1,3,8,8", "--per-layer")
    assert code == 2, out + err
    assert "options" in err
    code, out, err = _run(capsys, "verify", tmp_path / "m", symbol_path, "--params", params_path, "--input-shape",
                          "1,3,8,8", "--per-layer", "--relu6", "approx")
    assert code in (0, 1) and "per-layer comparison" in out, err


def test_a_failed_second_rename_keeps_the_old_pair(tmp_path, monkeypatch):
    """Was: the caffemodel was renamed first; if the prototxt rename then failed, a new caffemodel stood beside the
    old prototxt."""
    import compiler.driver.api  # noqa: F401  (the writer module is loaded through the API)
    from backends import writer

    symbol = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=2, name="conv")
    shapes = {"data": (1, 3, 4, 4)}
    compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes, 0), shapes, tmp_path, name="old")
    old = {p: (tmp_path / p).read_bytes() for p in ("old.prototxt", "old.caffemodel")}
    newer = compile_model(_block(symbol, shapes, seed=5)[0], shapes["data"])
    real_replace = os.replace
    calls = []

    def failing_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", failing_second)
    with pytest.raises(Exception, match="No space left"):
        newer.save(str(tmp_path / "old"))
    monkeypatch.setattr(writer.os, "replace", real_replace)
    assert {p: (tmp_path / p).read_bytes() for p in old} == old
    assert sorted(os.listdir(tmp_path)) == ["old.caffemodel", "old.prototxt"]


def _block(symbol, shapes, seed):
    """A Gluon block computing `symbol` with seeded random parameters, and those parameters."""
    block = mx.gluon.SymbolBlock(symbol, [mx.sym.var("data")])
    block.initialize()
    params = random_params(symbol, shapes, seed)
    for name, p in block.collect_params().items():
        p.set_data(mx.nd.array(params[name]))
    return block, params


# -- every option a user can get wrong: exit 2, one line, nothing written ---------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--input-shape", "1,3,0,224"], "positive"),
    (["--input-shape", "1,3,-4,224"], "positive"),
    (["--input-shape", "1,3,224"], "N,C,H,W"),
    (["--mean", "1,2"], "--mean"),
    (["--std", "1,0,1"], "--std"),
    (["--tolerance", "-1"], "--tolerance"),
    (["--input-scale", "0"], "--input-scale"),
    (["--random-init", "-3"], "--random-init"),
    (["--target", "tensorrt"], "--target"),
])
def test_cli_options_are_checked_before_any_work(tmp_path, capsys, argv, message):
    """Was: --input-shape 1,3,0,224 on a zoo model printed a raw MXNet traceback and exited 1."""
    base = ["convert", "resnet18_v1", "--random-init", "0", "-o", str(tmp_path / "out")]
    if "--random-init" in argv:
        base = ["convert", "resnet18_v1", "-o", str(tmp_path / "out")]
    code, _, err = _run(capsys, *base, *argv)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gluon2caffe: error: ") and message in lines[0], err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv, message", [
    (["-o", "{tmp}/nowhere/m"], "does not exist"),
    (["-o", "{tmp}"], "is a directory"),
    (["-o", "{tmp}/m", "--disable-pass", "fold_everything"], "no such pass"),
])
def test_output_and_pass_names_are_refused_before_the_model_is_built(tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, _, err = _run(capsys, "convert", "resnet18_v1", "--random-init", "0", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert os.listdir(tmp_path) == []


def test_an_unwritable_ir_dump_directory_is_a_clear_error(tmp_path, capsys):
    symbol = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=2, name="conv")
    symbol_path, params_path = _export(tmp_path, symbol, {"data": (1, 3, 4, 4)})
    (tmp_path / "file").write_text("")
    code, _, err = _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape", "1,3,4,4",
                        "-o", tmp_path / "out", "--dump-ir", tmp_path / "file" / "dump")
    assert code == 2 and "--dump-ir" in err and "Traceback" not in err, err


def test_refusal_for_to_bgr_names_the_attribute():
    symbol = mx.sym.softmax(mx.sym.var("data"), axis=1, name="prob")
    block = mx.gluon.SymbolBlock(symbol, [mx.sym.var("data")])
    block.initialize()
    with pytest.raises(UnsupportedOp, match="to_bgr"):
        compile_model(block, (1, 3, 4, 4), to_bgr=True)


# -- a graph output must be the first top of its layer ----------------------------------------------------------

@pytest.mark.parametrize("target", ["caffe", "ncnn"])
def test_a_later_slice_as_an_output_is_read_under_its_own_name(tmp_path, target):
    """monodepth2's pose decoder ends in out[..., :3] and out[..., 3:]. The second was a Slice whose first top is the
    unused first part, so OpenCV's forward('b') and pycaffe by layer returned the first three values under b's name
    (relative error 1.3 in the zoo model)."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=12, name="conv")
    rows = 0.01 * mx.sym.reshape(mx.sym.mean(mx.sym.mean(x, axis=3), axis=2), shape=(-1, 2, 1, 6))
    symbol = mx.sym.Group([mx.sym.slice_axis(rows, axis=3, begin=0, end=3, name="a"),
                           mx.sym.slice_axis(rows, axis=3, begin=3, end=None, name="b"),
                           mx.sym.slice_axis(rows, axis=1, begin=1, end=2, name="c")])
    shapes = {"data": (1, 3, 4, 5)}
    compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path,
                                                target=target)
    assert [c.name for c in comparisons[:3]] == ["a", "b", "c"]
    by_name = {layer.name: layer for layer in compiled.layers}
    assert all(by_name[name].tops[0] == name for name in compiled.output_layers)


# -- Caffe's Reshape and Flatten tops alias their bottom ---------------------------------------------------------

def test_no_layer_runs_in_place_on_a_view_of_a_blob_others_read(tmp_path):
    """Found by the fuzzer: sigmoid(mean over a 1×1 map) × the map. The mean became a Reshape (one term) and the
    Sigmoid ran in place on its top, which in Caffe shares memory with the map: pycaffe multiplied sigmoid(x) by
    sigmoid(x) (relative error 0.51); OpenCV, which copies, was right."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=4, name="conv")
    x = mx.sym.Pooling(x, kernel=(1, 1), global_pool=True, pool_type="max", name="gpool")
    symbol = mx.sym.broadcast_mul(mx.sym.sigmoid(mx.sym.mean(x, axis=(2, 3), keepdims=True)), x, name="out")
    shapes = {"data": (1, 3, 2, 2)}
    compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)
    assert comparisons
    assert not any(layer.type == "Sigmoid" and layer.tops == layer.bottoms for layer in compiled.layers)


# -- consumers that change layers: their rules are encoded -----------------------------------------------------

@pytest.mark.parametrize("affine", ["shift", "scale"])
def test_opencv_never_fuses_an_affine_power_into_a_non_affine_one(tmp_path, affine):
    """Was: sqrt(x² + 1) came out of OpenCV as sqrt((x)² + 0)-like values (10 % off): OpenCV fuses a Power with
    power ≠ 1 and shift 0 with a following scale-shift layer wrongly. Such a Power's top now goes through a Split."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=3, name="conv")
    squared = mx.sym.square(x)
    symbol = mx.sym.sqrt(squared + 1.0) if affine == "shift" else squared * 3.0
    symbol = mx.sym.Group([symbol, mx.sym.abs(x)])
    compiled, _ = convert_and_compare(symbol, random_params(symbol, {"data": (1, 3, 4, 4)}), {"data": (1, 3, 4, 4)},
                                      tmp_path)
    assert "Split" in [layer.type for layer in compiled.layers]


def test_a_weight_folded_affine_clears_the_mxnet_reference_of_its_producer(tmp_path, capsys):
    """Was: hard_sigmoid's affine step folded into the convolution before it, whose blob kept the reference to the
    convolution's MXNet output: verify --per-layer reported a divergence that was not there."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=3, name="gate")
    symbol = mx.sym.hard_sigmoid(x, name="hsig")
    symbol_path, params_path = _export(tmp_path, symbol, {"data": (1, 3, 4, 4)})
    assert _run(capsys, "convert", symbol_path, "--params", params_path, "--input-shape", "1,3,4,4",
                "-o", tmp_path / "m")[0] == 0
    code, out, err = _run(capsys, "verify", tmp_path / "m", symbol_path, "--params", params_path, "--input-shape",
                          "1,3,4,4", "--per-layer")
    assert code == 0 and "FAIL" not in out and "gate_output" not in out, out + err


def test_googlenet_builds_and_verifies_again(tmp_path, capsys):
    """Was: a traceback (TypeError from Parameter.initialize): the zoo build passed the *_custom detectors'
    placeholder class names to googlenet, whose `classes` is a count."""
    code, out, err = _run(capsys, "convert", "googlenet", "--random-init", "0", "-o", tmp_path / "googlenet",
                          "--verify", "--runtime", "all", "--quiet")
    assert code == 0 and "(1, 1000)" in out and "FAIL" not in out, out + err
