"""Weights as users hold them: a GluonCV net fine-tuned and saved with net.save_parameters (what GluonCV's training
scripts write), loaded into the zoo architecture with --params; and GluonCV's own pretrained weights with
--pretrained, taken from where GluonCV keeps them (tests place a file there: they cannot download)."""
import re

import pytest

from compiler.driver import zoo
from compiler.driver.families import family_named
from compiler.driver.cli import main
from tests.needs import needs_zoo

pytestmark = needs_zoo


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory):
    """resnet18_v1 re-headed for 10 classes with seeded random weights, saved both ways a Gluon user saves."""
    folder = tmp_path_factory.mktemp("fine_tuned")
    net = zoo.random_zoo_model("resnet18_v1", 3, (1, 3, 224, 224), {"classes": 10})
    net.save_parameters(str(folder / "structural.params"))
    net.collect_params().save(str(folder / "prefixed.params"))
    import mxnet as mx

    net.hybridize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    net.export(str(folder / "exported"))
    return folder


@pytest.mark.parametrize("file", ["structural.params", "prefixed.params"])
def test_a_fine_tuned_classifier_converts_with_its_params(tmp_path, capsys, fine_tuned, file):
    code = main(["convert", "resnet18_v1", "--params", str(fine_tuned / file), "--zoo-arg", "classes=10",
                 "-o", str(tmp_path / "ft"), "--verify", "--runtime", "all", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "(1, 10)" in out.out and "FAIL" not in out.out


@pytest.mark.parametrize("args, message", [
    ([], r"attribute 'resnetv\d+_dense0_weight': parameter 'resnetv\d+_dense0_weight': the net needs \(1000, 512\), "
         r"the file holds \(10, 512\) -> build the architecture the file was trained with: --zoo-arg classes=K"),
    (["--zoo-arg", "classes=10", "--model", "resnet34_v1"], r"parameter 'features[.\w]*weight' is not in "
                                                          r"structural\.params"),
])
def test_params_that_do_not_fit_the_architecture_name_the_parameter(tmp_path, capsys, fine_tuned, args, message):
    model = args[args.index("--model") + 1] if "--model" in args else "resnet18_v1"
    args = [a for a in args if a not in ("--model", model)]
    code = main(["convert", model, "--params", str(fine_tuned / "structural.params"), *args, "-o",
                 str(tmp_path / "ft")])
    err = capsys.readouterr().err
    assert code == 2 and re.search(message, err), err
    assert "Traceback" not in err and not (tmp_path / "ft.prototxt").exists()


def test_an_exported_params_file_for_a_zoo_name_says_to_convert_the_exported_files(tmp_path, capsys, fine_tuned):
    code = main(["convert", "resnet18_v1", "--params", str(fine_tuned / "exported-0000.params"), "--zoo-arg",
                 "classes=10", "-o", str(tmp_path / "ft")])
    err = capsys.readouterr().err
    assert code == 2 and "exported symbol" in err and "PREFIX-symbol.json" in err, err


def test_weights_come_from_exactly_one_source(tmp_path, capsys, fine_tuned):
    assert main(["convert", "resnet18_v1", "-o", str(tmp_path / "ft")]) == 2
    assert "--random-init, --params and --pretrained (none was given)" in capsys.readouterr().err
    assert main(["convert", "resnet18_v1", "--random-init", "0", "--pretrained", "-o", str(tmp_path / "ft")]) == 2
    assert "--random-init, --pretrained given" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name, shape, target", [("ssd_300_mobilenet0.25_voc", (1, 3, 300, 300), "caffe-ssd"),
                                                 ("yolo3_mobilenet0.25_voc", (1, 3, 320, 320), "caffe-ssd")])
def test_a_detector_fine_tuned_on_new_classes(tmp_path, capsys, name, shape, target):
    """The training script's way: a VOC preset, reset_class(new classes), trained, save_parameters."""
    net = zoo.get_zoo_model(name, {}, shape)
    net.initialize()
    net.reset_class(["cat", "dog"])
    zoo.randomize(net, 1, shape)
    family_named(name).tune(net, 1, shape)
    net.save_parameters(str(tmp_path / "detector.params"))
    code = main(["convert", name, "--params", str(tmp_path / "detector.params"), "--classes", "cat,dog",
                 "--input-shape", ",".join(map(str, shape)), "--target", target, "-o", str(tmp_path / "det"),
                 "--verify", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert ": equal" in out.out and "num_classes: 3" in (tmp_path / "det.prototxt").read_text()


@pytest.fixture
def model_store(tmp_path, monkeypatch):
    """GluonCV's model store in a temporary MXNET_HOME; its checksum test accepts our seeded file, and a download
    fails as it does offline (no network I/O happens)."""
    from gluoncv.model_zoo import model_store as store

    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mxnet_home"))
    monkeypatch.setattr(store, "check_sha1", lambda path, sha1: True)

    def offline(url, *args, **kwargs):
        raise ConnectionError(f"no network for {url}")
    monkeypatch.setattr(store, "download", offline)
    return tmp_path / "mxnet_home" / "models"


def test_pretrained_weights_from_gluoncvs_model_store(tmp_path, capsys, model_store):
    net = zoo.random_zoo_model("resnet18_v1", 5, (1, 3, 224, 224))
    path = zoo.pretrained_file("resnet18_v1")
    assert path.startswith(str(model_store)) and path.endswith(".params")
    model_store.mkdir(parents=True)
    net.save_parameters(path)
    code = main(["convert", "resnet18_v1", "--pretrained", "-o", str(tmp_path / "pre"), "--verify", "--quiet"])
    out = capsys.readouterr()
    assert code == 0 and "(1, 1000)" in out.out and "FAIL" not in out.out, out.out + out.err


def test_pretrained_weights_missing_offline_say_where_to_put_them(tmp_path, capsys, model_store):
    code = main(["convert", "resnet18_v1", "--pretrained", "-o", str(tmp_path / "pre")])
    err = capsys.readouterr().err
    assert code == 2 and zoo.pretrained_file("resnet18_v1") in err and "copy" in err, err
    assert "Traceback" not in err and not (tmp_path / "pre.prototxt").exists()
