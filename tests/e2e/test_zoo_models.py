"""Random-init GluonCV zoo models through the CLI, verified in OpenCV against MXNet."""
import re

import pytest

from compiler.driver.cli import main
from tests.needs import needs_zoo

pytestmark = needs_zoo

MODELS = [
    ("resnet18_v1", None), ("resnet50_v1b", None), ("resnet50_v2", None), ("mobilenet1.0", None),
    ("vgg16_bn", None), ("squeezenet1.1", None), ("densenet121", None), ("inceptionv3", "1,3,299,299"),
]
# Each model runs with to_bgr and merge_bn in both states across the two configurations.
CONFIGS = [("rgb-merged", []), ("bgr-unmerged", ["--to-bgr", "--no-merge-bn"])]


@pytest.mark.slow
@pytest.mark.parametrize("config, flags", CONFIGS, ids=[c for c, _ in CONFIGS])
@pytest.mark.parametrize("model, shape", MODELS, ids=[m for m, _ in MODELS])
def test_zoo_model_converts_and_verifies(tmp_path, capsys, model, shape, config, flags, runtime):
    argv = ["convert", model, "--random-init", "0", "-o", str(tmp_path / model), "--verify", "--check-ir",
            "--runtime", runtime, *flags]
    if shape:
        argv += ["--input-shape", shape]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    relatives = [float(v) for v in re.findall(r"relative ([0-9.e+-]+)", out)]
    maxima = [float(v) for v in re.findall(r"max\|ref\| ([0-9.e+-]+)", out)]
    assert relatives and all(r <= 1e-4 for r in relatives), out
    # Calibrated statistics keep the logits in a range where differences show (no saturation, no zeros).
    assert all(0.1 < m < 1e3 for m in maxima), out
    from backends import get_target
    from tests.helpers import strict_parse

    strict_parse(str(tmp_path / f"{model}.prototxt"), get_target("caffe").proto)
    assert (tmp_path / f"{model}.caffemodel").stat().st_size > 1000


def test_exported_files_convert_and_verify(tmp_path, capsys, runtime):
    import mxnet as mx

    from compiler.driver.zoo import random_zoo_model

    net = random_zoo_model("mobilenet0.25", 3, (1, 3, 224, 224))
    net.hybridize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    net.export(str(tmp_path / "exported"))
    code = main(["convert", str(tmp_path / "exported-symbol.json"), "--params", str(tmp_path / "exported-0000.params"),
                 "--input-shape", "1,3,224,224", "-o", str(tmp_path / "out"), "--verify", "--to-bgr",
                 "--runtime", runtime])
    out = capsys.readouterr().out
    assert code == 0, out
    assert all(float(v) <= 1e-4 for v in re.findall(r"relative ([0-9.e+-]+)", out)), out
    code = main(["verify", str(tmp_path / "out"), str(tmp_path / "exported-symbol.json"),
                 "--params", str(tmp_path / "exported-0000.params"), "--input-shape", "1,3,224,224", "--to-bgr",
                 "--seed", "5", "--runtime", runtime])
    assert code == 0, capsys.readouterr().out


def _converted(tmp_path, capsys, model, *flags, runtime="opencv"):
    code = main(["convert", model, "--random-init", "0", "-o", str(tmp_path / model), "--verify", "--report",
                 "--runtime", runtime, *flags])
    out = capsys.readouterr().out
    return code, out, [float(v) for v in re.findall(r"relative ([0-9.e+-]+)", out)]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mobilenetv2_1.0", "mobilenetv2_0.25"])
def test_mobilenetv2_relu6_is_exact(tmp_path, capsys, model, runtime):
    code, out, relatives = _converted(tmp_path, capsys, model, runtime=runtime)
    assert code == 0 and relatives and max(relatives) <= 1e-4, out
    assert "output is exact" in out and "clip_to_relu" in out
    prototxt = (tmp_path / f"{model}.prototxt").read_text()
    assert "ReLU6" not in prototxt and prototxt.count('type: "Power"') == 2 * 35


@pytest.mark.slow
def test_mobilenetv2_relu6_approx_is_reported(tmp_path, capsys):
    # Raw pixels 0..255 scaled by 0.5 drive activations well past 6, where a plain ReLU differs from clip(0, 6).
    code, out, relatives = _converted(tmp_path, capsys, "mobilenetv2_0.25", "--relu6", "approx",
                                      "--input-scale", "0.5")
    assert "APPROXIMATE" in out and "approximation in clip_to_relu" in out and "is an approximation" in out
    # Verification still measures the truth: plain ReLU lets values above 6 through.
    assert code == 1 and max(relatives) > 1e-4


@pytest.mark.slow
def test_raw_bgr_pixels_match_normalised_rgb(tmp_path, capsys, runtime):
    code, out, relatives = _converted(tmp_path, capsys, "resnet18_v1", "--to-bgr", "--mean", "123.675,116.28,103.53",
                                      "--std", "58.395,57.12,57.375", runtime=runtime)
    assert code == 0 and relatives and max(relatives) <= 1e-4, out
    prototxt = (tmp_path / "resnet18_v1.prototxt").read_text()
    assert 'name: "data_normalize"' in prototxt


@pytest.mark.slow
@pytest.mark.parametrize("model, target", [("resnet18_v1", "ncnn"), ("mobilenetv2_1.0", "ncnn")])
def test_ncnn_flavour_of_zoo_models(tmp_path, capsys, model, target):
    from backends import get_target
    from tests.helpers import strict_parse

    code, out, relatives = _converted(tmp_path, capsys, model, "--target", target)
    assert code == 0 and relatives and max(relatives) <= 1e-4, out
    net = strict_parse(str(tmp_path / f"{model}.prototxt"), get_target("ncnn").proto)
    assert all(not set(layer.top) & set(layer.bottom) for layer in net.layer)


@pytest.mark.slow
def test_converting_twice_gives_byte_identical_files(tmp_path):
    import subprocess
    import sys

    # Two processes, as a user runs the CLI twice (within one process Gluon numbers a second model squeezenet1_).
    for run in ("a", "b"):
        done = subprocess.run([sys.executable, "-m", "compiler.driver.cli", "convert", "squeezenet1.1", "--random-init", "3",
                               "-o", str(tmp_path / run), "--to-bgr", "--verify"], capture_output=True, text=True)
        assert done.returncode == 0 and " ok" in done.stdout, done.stdout + done.stderr
    for suffix in (".prototxt", ".caffemodel"):
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()
