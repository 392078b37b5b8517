"""The seed tool's API and the compiler API, checked with numbers from OpenCV."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np
from mxnet.gluon import nn

from compiler.driver.verify import compare_outputs, random_inputs, run_runtime


def _small_net():
    mx.random.seed(0)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(3, 2, 1),
            nn.Conv2D(8, 3, padding=1, groups=8, use_bias=False), nn.BatchNorm(scale=False), nn.LeakyReLU(0.1),
            nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dropout(0.5), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 17, 17)))
    rng = np.random.RandomState(0)
    for name, p in net.collect_params().items():
        if name.endswith(("running_var", "gamma")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 2, p.shape)))
        elif name.endswith(("running_mean", "beta")):
            p.set_data(mx.nd.array(rng.uniform(-1, 1, p.shape)))
    return net


def _check(net, prefix, bgr, softmax=False, shape=(1, 3, 17, 17)):
    inputs = random_inputs({"data": shape}, 0)
    reference = net(mx.nd.array(inputs["data"]))
    if softmax:
        reference = mx.nd.softmax(reference, axis=1)
    from tests.helpers import output_layers_of

    outputs = output_layers_of(prefix + ".prototxt")
    actual = run_runtime("opencv", prefix + ".prototxt", prefix + ".caffemodel",
                         {"data": np.ascontiguousarray(inputs["data"][:, ::-1]) if bgr else inputs["data"]}, outputs)
    (result,) = compare_outputs(outputs, [reference.asnumpy()], actual)
    assert result.ok, str(result)


@pytest.mark.parametrize("to_bgr, merge_bn, softmax", [(False, True, False), (True, False, True), (True, True, False)])
def test_seed_api(tmp_path, to_bgr, merge_bn, softmax):
    from compiler import convert_model, save_model

    net = _small_net()
    text_net, binary_weights = convert_model(net, input_shape=(1, 3, 17, 17), softmax=softmax, to_bgr=to_bgr,
                                             merge_bn=merge_bn)
    types = [layer.type for layer in text_net.layer]
    assert ("BatchNorm" in types) == (not merge_bn)
    assert (types[-1] == "Softmax") == softmax
    prefix = str(tmp_path / "out" / "small")
    (tmp_path / "out").mkdir()
    assert save_model(text_net, binary_weights, prefix=prefix) == (prefix + ".prototxt", prefix + ".caffemodel")
    _check(net, prefix, to_bgr, softmax)


def test_compiler_api_exposes_ir_report_and_backend(tmp_path):
    from compiler import Options, compile_model

    net = _small_net()
    compiled = compile_model(net, (1, 3, 17, 17), target="caffe", options=Options(check_ir=True))
    assert compiled.target.name == "caffe"
    from passes import ORDER

    assert [r.name for r in compiled.report.records] == [p for p in ORDER if p not in compiled.target.dropped_passes]
    fold = [r for r in compiled.report.records if r.name == "fold_batchnorm"][0]
    assert fold.rewrites == 2 and fold.ops_after == fold.ops_before - 2
    assert not compiled.graph.ops_of("BatchNorm", "Dropout")
    assert compiled.report.exact and "output is exact" in compiled.report.format_table()
    compiled.save(str(tmp_path / "m"))
    _check(net, str(tmp_path / "m"), False)


def test_compiler_api_can_drop_a_pass(tmp_path):
    from compiler import Options, compile_model

    net = _small_net()
    compiled = compile_model(net, (1, 3, 17, 17), options=Options(disable_passes=("fold_batchnorm",)))
    assert "fold_batchnorm" not in [r.name for r in compiled.report.records]
    assert len(compiled.graph.ops_of("Scale")) == 2
    compiled.save(str(tmp_path / "m"))
    _check(net, str(tmp_path / "m"), False)


def test_importing_the_ir_does_not_import_mxnet():
    import subprocess
    import sys

    code = ("import sys, compiler.ir, compiler.ops, passes, backends.emitters; "
            "assert 'mxnet' not in sys.modules, 'mxnet imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_names_what_each_pass_rewrote(tmp_path):
    import json

    from compiler import Options, compile_model

    net = _small_net()
    compiled = compile_model(net, (1, 3, 17, 17), options=Options())
    compiled.save(str(tmp_path / "m"))
    _check(net, str(tmp_path / "m"), False)
    fold = [r for r in compiled.report.records if r.name == "fold_batchnorm"][0]
    assert len(fold.removed) == 2 and all("batchnorm" in name for name in fold.removed) and fold.added == []
    drops = [r for r in compiled.report.records if r.name == "eliminate_identities"][0]
    assert any("dropout" in name for name in drops.removed)
    table = compiled.report.format_table()
    assert "fold_batchnorm removed:" in table and "removed" in table.splitlines()[0]
    assert json.loads(compiled.report.to_json())["passes"][2]["name"] == compiled.report.records[2].name


def test_the_seed_api_weights_serialise_on_demand_to_the_file_bytes(tmp_path):
    """convert_model's binary_weights holds the arrays, not a serialised message: bytes() and SerializeToString()
    build the whole caffemodel, which is exactly what save_model streams to disk, and which parses as Caffe's
    NetParameter with every blob; the folded weights in it (computed only as they are written) give MXNet's
    numbers in OpenCV."""
    from backends.schema import reader
    from compiler import convert_model, save_model

    net = _small_net()
    text_net, binary_weights = convert_model(net, input_shape=(1, 3, 17, 17))
    _, caffemodel = save_model(text_net, binary_weights, prefix=str(tmp_path / "small"))
    on_disk = open(caffemodel, "rb").read()
    assert bytes(binary_weights) == binary_weights.SerializeToString() == on_disk
    _check(net, str(tmp_path / "small"), False)
    parsed = reader().NetParameter.FromString(on_disk)
    blobs = {layer.name: [len(b.data) for b in layer.blobs] for layer in parsed.layer if layer.blobs}
    assert sum(sum(sizes) for sizes in blobs.values()) == sum(
        blob.size for layer in binary_weights.layers for blob in layer.blobs) > 300
