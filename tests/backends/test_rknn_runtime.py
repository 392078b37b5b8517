"""The rknn runtime's own logic, against a stand-in for the toolkit's python (the real toolkit runs in
tests/e2e/test_rknn.py): which outputs a network has, the toolkit's silent drops read from its log, its failures,
and the float16 comparison (relative and cosine)."""
import os
import stat
import textwrap

import numpy as np
import pytest

from compiler.driver.verify.checks import compare_outputs
from compiler.driver.verify.runtimes import _layers_and_outputs, rknn_python, run_rknn
from compiler.errors import ConversionError

PROTOTXT = """name: "two_outputs"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "sig" type: "Sigmoid" bottom: "conv" top: "sig" }
layer { name: "seed_silence" type: "Silence" bottom: "data" }
"""


def _stand_in(tmp_path, log: str, status: int = 0, names=("pool", "sig")):
    """A 'python' that ignores the runner, prints `log` as the toolkit would, writes an array of i for the i-th of
    the outputs `names` and exits. It runs this venv's python as it is named (its realpath is the base interpreter,
    without the venv's numpy)."""
    script = tmp_path / "toolkit_python"
    script.write_text(textwrap.dedent(f"""\
        #!{os.sys.executable}
        import sys
        import numpy as np
        print({log!r})
        np.savez(sys.argv[5], names=np.array({list(names)!r}),
                 **{{f"out{{i}}": np.full((1, 2, 2, 2), i, np.float32) for i in range({len(names)})}})
        sys.exit({status})
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.fixture
def files(tmp_path):
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(PROTOTXT)
    caffemodel = tmp_path / "net.caffemodel"
    caffemodel.write_bytes(b"")
    return str(prototxt), str(caffemodel)


def test_network_outputs_are_the_unconsumed_tops_in_layer_order(files):
    first_tops, outputs = _layers_and_outputs(files[0])
    assert outputs == ["pool", "sig"]   # conv's in-place ReLU consumes nothing new; Silence has no top
    assert "seed_silence" not in first_tops and first_tops["relu"] == "conv"


def test_outputs_come_back_by_name(tmp_path, files, monkeypatch):
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, "I rknn building done."))
    sig, pool = run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["sig", "pool"])
    assert sig.max() == 1 and pool.max() == 0


def test_outputs_are_matched_by_the_names_the_toolkit_gives_not_their_order(tmp_path, files, monkeypatch):
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, "", names=("sig", "pool")))
    sig, pool = run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["sig", "pool"])
    assert sig.max() == 0 and pool.max() == 1


def test_an_output_the_toolkit_left_out_is_an_error(tmp_path, files, monkeypatch):
    """Behind a dropped Silence the toolkit's model outputs the Slice's unread part instead of the kept one."""
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, "", names=("pool", "sig_unused1")))
    with pytest.raises(ConversionError, match="does not output sig .*its outputs: pool, sig_unused1"):
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["pool", "sig"])


def test_an_in_place_layer_is_asked_for_by_its_top(tmp_path, files, monkeypatch):
    """Verification names layers; an in-place layer's output is its bottom blob, which is what the toolkit returns."""
    with open(files[0], "a") as f:
        f.write('layer { name: "relu2" type: "ReLU" bottom: "sig" top: "sig" }\n')
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, ""))
    assert [a.max() for a in run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["relu2", "pool"])] == [1, 0]


@pytest.mark.parametrize("log, layer", [
    ("E load_caffe:  OP in Layer decoder_elu Current not support!!!", "decoder_elu"),
    ("\x1b[1;31mE\x1b[0m load_caffe: OP in Layer box_exp Current not support!!!", "box_exp")])
def test_a_layer_the_toolkit_drops_is_an_error_naming_it(tmp_path, files, monkeypatch, log, layer):
    """The toolkit logs the layer, passes its input through and still returns 0: the log is the only sign."""
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, log))
    with pytest.raises(ConversionError, match=f"dropped 1 layer.*{layer}"):
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["pool", "sig"])


@pytest.mark.parametrize("log", ["E load_caffe:  OP in Layer seed_silence Current not support!!!",
                                 "E load_caffe:  OP in Layer Silence Current not support!!!",   # no such layer
                                 "E something else not supported"])
def test_every_drop_is_an_error_a_silence_included(tmp_path, files, monkeypatch, log):
    """Behind a dropped Silence the toolkit returned a Slice's other part under the kept part's name
    (lffd_plate_small's scores), so no drop is taken as harmless."""
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, log))
    with pytest.raises(ConversionError, match="dropped 1 layer"):
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["pool", "sig"])


def test_the_cached_toolkit_counts_only_once_its_build_finished(tmp_path, monkeypatch):
    """build_rknn.sh writes .complete last: a python left by an interrupted install is not the toolkit."""
    monkeypatch.delenv("GLUON2CAFFE_RKNN_PYTHON", raising=False)
    monkeypatch.setenv("GLUON2CAFFE_CACHE", str(tmp_path))
    prefix = tmp_path / "rknn-toolkit2-2.5.0-py311"
    (prefix / "bin").mkdir(parents=True)
    python = prefix / "bin" / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    assert rknn_python() is None
    (prefix / ".complete").touch()
    assert rknn_python() == str(python)


def test_a_failing_toolkit_step_is_an_error_with_its_message(tmp_path, files, monkeypatch):
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, "rknn_runner: load_caffe raised ValueError: "
                                                                      "bad Scale", status=3))
    with pytest.raises(ConversionError, match="exit 3.*load_caffe raised ValueError: bad Scale"):
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["pool", "sig"])


def test_an_inner_blob_is_refused_since_the_toolkit_returns_outputs_only(tmp_path, files, monkeypatch):
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", _stand_in(tmp_path, ""))
    with pytest.raises(ConversionError, match="only the network's outputs .*not conv"):
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["conv"])


def test_a_missing_toolkit_says_how_to_build_it(files, monkeypatch, tmp_path):
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", str(tmp_path / "nowhere"))
    with pytest.raises(ConversionError, match="rknn-toolkit2 is not available.*build_rknn.sh"):
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["pool"])


def test_float16_comparison_needs_the_cosine_too():
    """A relative bound alone passes a small output whose signs are all wrong beside a large one."""
    reference = np.array([100.0] + [1.0] * 30)
    flipped = np.array([100.0] + [-1.0] * 30)
    (plain,) = compare_outputs(["y"], [reference], [flipped], 2e-2)
    (checked,) = compare_outputs(["y"], [reference], [flipped], 2e-2, min_cosine=0.999)
    assert plain.ok and not checked.ok and checked.cosine < 0.995 and "cosine" in str(checked)
    (close,) = compare_outputs(["y"], [reference], [reference * 1.001], 2e-2, min_cosine=0.999)
    assert close.ok and close.cosine > 0.999999


def test_a_killed_toolkit_says_it_was_probably_out_of_memory(tmp_path, files, monkeypatch):
    """The simulator of a large segmentation net at 480×480 took 22 GB and the kernel killed it: say so."""
    script = tmp_path / "killed_python"
    script.write_text(f"#!{os.sys.executable}\nimport os\nos.kill(os.getpid(), 9)\n")
    script.chmod(0o755)
    monkeypatch.setenv("GLUON2CAFFE_RKNN_PYTHON", str(script))
    with pytest.raises(ConversionError, match="killed by signal 9.*out of memory") as caught:
        run_rknn(*files, {"data": np.zeros((1, 2, 4, 4), np.float32)}, ["pool"])
    assert "--input-shape" in caught.value.hint
