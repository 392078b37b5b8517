"""The zoo sweep: model selection, the report, and that a failing model never stops the sweep."""
import json

import pytest

from compiler.driver import sweep
from compiler.driver.cli import main
from tests.needs import needs_zoo


def test_selection_by_family_and_task():
    names = ["resnet18_v1", "se_resnet18_v1", "vgg16_ucf101", "fcn_resnet50_voc"]
    assert sweep.select(families=["se_resnet"], names=names) == ["se_resnet18_v1"]
    assert sweep.select(tasks=["classification"], names=names) == ["resnet18_v1", "se_resnet18_v1"]
    with pytest.raises(Exception, match="not GluonCV model-zoo names: nope"):
        sweep.select(models=["nope"], names=names)
    with pytest.raises(Exception, match="unknown family se_resnets"):
        sweep.select(families=["se_resnets"], names=names)


@needs_zoo
def test_sweep_writes_its_report_and_survives_a_model_that_times_out(tmp_path, capsys):
    code = main(["zoo", "--models", "cifar_resnet20_v1", "--target", "caffe", "--runtime", "opencv", "--quiet",
                 "-o", str(tmp_path / "ok")])
    report = json.loads((tmp_path / "ok" / "coverage.json").read_text())
    (model,) = report["models"]
    assert code == 0 and model["status"] == {"caffe": "verified"} and model["relative"]["caffe/opencv"] < 1e-4
    assert "| cifar_resnet20_v1 | cifar_resnet | 3×32×32 | verified |" in (tmp_path / "ok" / "coverage.md").read_text()
    code = main(["zoo", "--models", "cifar_resnet20_v1,cifar_resnet56_v1", "--target", "caffe", "--timeout", "0.5",
                 "--quiet", "-o", str(tmp_path / "slow")])
    report = json.loads((tmp_path / "slow" / "coverage.json").read_text())
    assert code == 1 and [m["status"]["caffe"] for m in report["models"]] == ["timeout", "timeout"]


@needs_zoo
def test_a_model_of_two_inputs_is_refused_by_name_in_the_sweep(tmp_path):
    """SiamRPN takes a template and a search region: the sweep, comparing frontends or not, records a refusal by
    name, not a crash."""
    for compare in (True, False):
        result = sweep.run_worker("siamrpn_alexnet_v2_otb15", ["caffe", "ncnn"], [], None, 0, str(tmp_path),
                                  compare_frontends=compare)
        assert result["status"] == {"caffe": "refused", "ncnn": "refused"}, result
        assert "'siamrpn_alexnet_v2_otb15' does not run on one input: " in result["reason"], result["reason"]
        assert "search" in result["reason"], result["reason"]


@needs_zoo
def test_a_target_no_chosen_runtime_runs_is_not_called_verified(tmp_path):
    """`--target caffe --runtime rknn`: nothing can run those files there, so nothing is verified; the ncnn runtime
    runs the ncnn target's files when asked for by name."""
    result = sweep.run_worker("resnet18_v1", ["caffe", "ncnn"], ["ncnn"], (1, 3, 64, 64), 0, str(tmp_path))
    assert result["status"] == {"caffe": "failed", "ncnn": "verified"}, result
    assert "caffe: none of the runtimes ncnn runs this target's files" in result["reason"], result["reason"]
    assert result["relative"]["ncnn/ncnn"] <= 1e-4, result["relative"]


def test_a_crashing_worker_is_recorded(tmp_path, monkeypatch):
    import argparse

    monkeypatch.setattr(sweep, "WORKER", "compiler.driver.no_such_worker")   # the worker process dies at start
    args = argparse.Namespace(targets=["caffe"], runtimes=["opencv"], seed=0, output=str(tmp_path), timeout=300,
                              compare_frontends=False)
    result = sweep._spawn("cifar_resnet20_v1", args, None)
    assert result.status == {"caffe": "crashed"} and "no_such_worker" in result.reason


def test_family_summary_counts_each_input_apart():
    def entry(model, family, shape, status):
        return {"model": model, "family": family, "task": "classification", "input_shape": shape,
                "status": status, "relative": {}, "layers": {}, "seconds": {}, "reason": ""}
    both = {"caffe": "verified", "ncnn": "verified"}
    document = {"models": [
        entry("resnet18_v1", "resnet_v1", [1, 3, 224, 224], both),
        entry("resnet18_v1", "resnet_v1", [1, 3, 192, 256], both),
        entry("resnet34_v1", "resnet_v1", [1, 3, 224, 224], {"caffe": "verified", "ncnn": "refused"}),
        entry("resnet34_v1", "resnet_v1", [1, 3, 192, 256], {"caffe": "verified", "ncnn": "refused"}),
        # an SSD needs DetectionOutput, which BVLC Caffe lacks by design: verified where it can be expressed
        entry("ssd_300_vgg16_atrous_voc", "ssd", [1, 3, 300, 300], {"caffe": "other target", "ncnn": "verified"}),
        entry("ssd_512_vgg16_atrous_voc", "ssd", [1, 3, 512, 512], {"caffe": "other target", "ncnn": "failed"})]}
    lines = sweep.family_summary(document).splitlines()
    assert lines[0] == ("| family | models | verified in every target that has its layers, default input | "
                        "verified in every target that has its layers, 3×192×256 input | refused at some input "
                        "(reasons in coverage.md) |")
    assert lines[2] == "| resnet_v1 | 2 | 1 | 1 | 1 |"
    assert lines[3] == "| ssd | 2 | 1 | 0 | 0 |"


def test_a_target_without_the_layers_is_not_the_worst_status():
    result = sweep.ModelResult("ssd_300_vgg16_atrous_voc", "ssd", "detection", (1, 3, 300, 300),
                               {"caffe": "other target", "caffe-ssd": "verified", "ncnn": "verified"})
    assert result.worst == "verified"
    result.status["ncnn"] = "failed"
    assert result.worst == "failed"


def test_render_merges_reruns_over_earlier_runs(tmp_path):
    def run(status, wall, size=512, other=True):
        models = [("ssd_512_vgg16_atrous_voc", size, status)] + ([("vgg16", 224, "verified")] if other else [])
        return {"targets": ["caffe"], "runtimes": ["opencv"], "wall_seconds": wall, "models": [
            {"model": name, "family": "ssd", "task": "detection", "input_shape": [1, 3, s, s],
             "status": {"caffe": st}, "relative": {}, "layers": {}, "seconds": {}, "reason": ""}
            for name, s, st in models]}
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(run("failed", 60.0)))
    second.write_text(json.dumps(run("verified", 6.0, size=300, other=False)))   # rerun at another default size
    document = sweep.merge_reports([str(first), str(second)])
    runs = sorted((m["model"], m["input_shape"][2], m["status"]["caffe"]) for m in document["models"])
    assert runs == [("ssd_512_vgg16_atrous_voc", 300, "verified"), ("vgg16", 224, "verified")]
    assert document["wall_seconds"] == 66.0
    assert sweep._worker_main(["--render", str(first), str(second), str(tmp_path / "out")]) == 0
    assert "| ssd_512_vgg16_atrous_voc | ssd | 3×300×300 | verified |" in (tmp_path / "out" / "coverage.md").read_text()
