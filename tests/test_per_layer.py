"""The per-layer report finds the layer a broken conversion got wrong."""
import attrs
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.driver.api import compile_graph
from compiler.frontend.symbol import import_symbol
from compiler.options import Options
from compiler.driver.reference import SymbolModel
from compiler.driver.verify import paired_inputs
from compiler.driver.verify.per_layer import compare_layers, first_divergence
from passes.manager import PassResult
from tests.helpers import random_params

SHAPES = {"data": (1, 3, 12, 12)}


def _model(tmp_path):
    x = mx.sym.var("data")
    for i in range(3):
        x = mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=8, name=f"conv{i}")
        x = mx.sym.BatchNorm(x, fix_gamma=False, eps=1e-5, name=f"bn{i}")
        x = mx.sym.relu(x, name=f"relu{i}")
    symbol = mx.sym.FullyConnected(x, num_hidden=5, name="fc")
    params = random_params(symbol, SHAPES)
    for i in range(3):
        params[f"bn{i}_moving_var"] = params[f"bn{i}_moving_var"] * 1e-3   # eps matters at this scale
    symbol.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"), {f"arg:{k}": mx.nd.array(v) for k, v in params.items()})
    return symbol, params, SymbolModel.load(str(tmp_path / "m-symbol.json"), str(tmp_path / "m-0000.params"))


def break_bn1_eps(graph, ctx):
    """Pattern: BatchNorm bn1 (a deliberately broken conversion for this test)
    Emits:   the same BatchNorm with eps 0.1
    Exact:   no: it is meant to be wrong"""
    (bn,) = [op for op in graph.ops_of("BatchNorm") if op.name == "bn1"]
    graph.set_attrs(bn, attrs.evolve(bn.attrs, eps=0.1))
    return PassResult(1)


def _report(tmp_path, extra_passes=(), target="caffe", runtime="opencv"):
    symbol, params, model = _model(tmp_path)
    options = Options(merge_bn=False, inplace=False)
    compiled = compile_graph(import_symbol(symbol, params, SHAPES), target, options, extra_passes=extra_passes)
    prototxt, caffemodel = compiled.save(str(tmp_path / "out"))
    mxnet_inputs, caffe_inputs = paired_inputs(compiled.inputs, 0)
    return compare_layers(model, compiled, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime)


def test_correct_conversion_has_no_divergence(tmp_path):
    results = _report(tmp_path)
    assert len(results) >= 10 and first_divergence(results) is None


def test_two_nodes_of_one_name_are_each_compared_with_their_own_value(tmp_path):
    """A Gluon block that applies one activation twice (DLA's BasicBlock) names both MXNet nodes alike: each layer
    is compared with its own node's value, not the last node of that name."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), pad=(1, 1), num_filter=8, name="conv0")
    first = mx.sym.relu(x, name="relu0_fwd")
    second = mx.sym.relu(mx.sym.Convolution(first, kernel=(3, 3), pad=(1, 1), num_filter=8, name="conv1") + x,
                         name="relu0_fwd")
    symbol = mx.sym.FullyConnected(second, num_hidden=5, name="fc")
    params = random_params(symbol, SHAPES)
    symbol.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"), {f"arg:{k}": mx.nd.array(v) for k, v in params.items()})
    model = SymbolModel.load(str(tmp_path / "m-symbol.json"), str(tmp_path / "m-0000.params"))
    compiled = compile_graph(import_symbol(symbol, params, SHAPES), "caffe", Options(inplace=False))
    prototxt, caffemodel = compiled.save(str(tmp_path / "out"))
    mxnet_inputs, caffe_inputs = paired_inputs(compiled.inputs, 0)
    results = compare_layers(model, compiled, prototxt, caffemodel, mxnet_inputs, caffe_inputs, "opencv")
    both = [str(r.mxnet_output) for r in results if str(r.mxnet_output).startswith("relu0_fwd")]
    assert both == ["relu0_fwd", "relu0_fwd (node 2 of that name)"]
    assert first_divergence(results) is None, first_divergence(results)


@pytest.mark.parametrize("target, runtime", [("caffe", "opencv"), ("ncnn-native", "ncnn")])
def test_wrong_eps_is_found_at_its_layer(tmp_path, target, runtime):
    """In ncnn too, which returns any blob of its own files."""
    if runtime == "ncnn":
        pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")
    results = _report(tmp_path, extra_passes=[break_bn1_eps], target=target, runtime=runtime)
    first = first_divergence(results)
    assert len(results) >= 10 and first is not None and first.origin == "bn1 (BatchNorm)" and "eps=0.1" in first.op
    before = results[:results.index(first)]
    assert before and all(r.ok for r in before) and any("bn0" in r.origin for r in before)


def test_cli_per_layer_names_the_layer(tmp_path, capsys):
    from compiler.driver.cli import main

    _model(tmp_path)
    args = [str(tmp_path / "m-symbol.json"), "--params", str(tmp_path / "m-0000.params"), "--input-shape", "1,3,12,12"]
    assert main(["convert", *args, "-o", str(tmp_path / "out")]) == 0
    assert main(["verify", str(tmp_path / "out"), *args, "--per-layer"]) == 0
    out = capsys.readouterr().out
    assert "every compared blob is within tolerance" in out and "bn1 " not in out.split("per-layer")[0]


def _break_one_deep_batchnorm(index: int):
    def break_batchnorm_eps(graph, ctx):
        """Pattern: the index-th BatchNorm of the graph (a deliberately broken conversion for this test)
        Emits:   the same BatchNorm with eps 0.5
        Exact:   no: it is meant to be wrong"""
        bn = graph.ops_of("BatchNorm")[index]
        graph.set_attrs(bn, attrs.evolve(bn.attrs, eps=0.5))
        break_batchnorm_eps.broken = bn.origin.node
        return PassResult(1)
    return break_batchnorm_eps


@pytest.mark.slow
def test_the_plot_marks_the_broken_layer_of_a_deep_zoo_model(tmp_path):
    """resnet50_v1 with one BatchNorm's eps wrong deep inside: the figure is written, is a real picture, and the blob
    it marks as the first over tolerance comes from that BatchNorm (read from the data drawn, not from pixels)."""
    from compiler.driver import zoo
    from compiler.driver.api import compile_graph, import_model
    from compiler.driver.verify.plot import plot_per_layer
    from tests.helpers import available_runtimes

    shape = (1, 3, 224, 224)
    net = zoo.random_zoo_model("resnet50_v1", 0, shape)
    broken = _break_one_deep_batchnorm(30)
    options = Options(merge_bn=False, inplace=False)
    compiled = compile_graph(import_model(net, shape), "caffe", options, extra_passes=[broken])
    prototxt, caffemodel = compiled.save(str(tmp_path / "broken"))
    mxnet_inputs, caffe_inputs = paired_inputs(compiled.inputs, 0)
    results = {runtime: compare_layers(net, compiled, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime)
               for runtime in available_runtimes()}
    drawn = plot_per_layer(results, str(tmp_path / "divergence.png"), compiled.output_layers, title="resnet50_v1")
    png = (tmp_path / "divergence.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000
    for runtime, first in drawn.marked.items():
        assert first is not None and first.origin == f"{broken.broken} (BatchNorm)", (runtime, first)
        assert len(drawn.series[runtime]) > 150 and all(r <= 1e-4 for _, r in drawn.series[runtime][:10])
        assert drawn.outputs[runtime] and drawn.outputs[runtime][0][1] > 1e-4   # the error reaches the output
    assert drawn.tolerance == 1e-4


def test_cli_plot_needs_per_layer_and_a_writable_place(tmp_path, capsys):
    from compiler.driver.cli import main

    _model(tmp_path)
    args = [str(tmp_path / "m-symbol.json"), "--params", str(tmp_path / "m-0000.params"), "--input-shape", "1,3,12,12"]
    assert main(["convert", *args, "-o", str(tmp_path / "out")]) == 0
    assert main(["verify", str(tmp_path / "out"), *args, "--plot", str(tmp_path / "p.png")]) == 2
    assert "add --per-layer" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "out"), *args, "--per-layer", "--plot",
                 str(tmp_path / "missing" / "p.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "out"), *args, "--per-layer", "--plot", str(tmp_path / "p.png")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "p.png").stat().st_size > 10_000
