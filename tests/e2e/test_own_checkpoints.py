"""Our own symbol-API checkpoints (tests/checkpoints.py), each exercising the symbol API's ops as trained models use
them, converted through the CLI on every target and verified in OpenCV and pycaffe (the ncnn targets' files in ncnn too)."""
import pytest

pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.driver.cli import main
from tests import checkpoints
from tests.helpers import runtimes_for


@pytest.mark.parametrize("target", ["caffe", "caffe-ssd", "ncnn", "ncnn-native"])
@pytest.mark.parametrize("name", sorted(checkpoints.CHECKPOINTS))
def test_our_checkpoint_converts_and_verifies(tmp_path, capsys, name, target):
    symbol, params, shapes = checkpoints.write(name, str(tmp_path))
    runtimes = runtimes_for(target)
    shape_args = [arg for input_name, shape in shapes.items()
                  for arg in ("--input-shape", f"{input_name}:{','.join(map(str, shape))}")]
    code = main(["convert", symbol, "--params", params, *shape_args, "--target", target, "-o", str(tmp_path / "out"),
                 "--verify", "--quiet", "--runtime", "all" if len(runtimes) > 1 else runtimes[0]])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "FAIL" not in out.out and out.out.count(" ok") >= len(runtimes), out.out
