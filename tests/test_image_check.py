"""--image: a real picture (made here, no downloads) through MXNet and each runtime, top classes and detections side
by side; bad paths and unreadable files are a clear exit 2."""
import re

import cv2
import numpy as np
import pytest

from compiler.driver.cli import main
from tests.helpers import available_runtimes
from tests.needs import needs_zoo

pytestmark = needs_zoo


@pytest.fixture
def picture(tmp_path):
    """A 180×240 photo-like image: a horizontal gradient with a red disc and a green block."""
    image = np.zeros((180, 240, 3), np.uint8)
    image[:] = np.linspace(0, 255, 240)[None, :, None].astype(np.uint8)
    cv2.circle(image, (80, 90), 40, (0, 0, 255), -1)
    cv2.rectangle(image, (140, 40), (220, 150), (0, 200, 0), -1)
    path = tmp_path / "picture.png"
    cv2.imwrite(str(path), image)
    return path


def test_a_classifier_gives_the_same_top5_on_a_real_image(tmp_path, capsys, picture):
    code = main(["convert", "mobilenet0.25", "--random-init", "0", "-o", str(tmp_path / "m"), "--verify",
                 "--image", str(picture), "--mean", "123.7,116.3,103.5", "--std", "58.4,57.1,57.4", "--to-bgr",
                 "--softmax", "--runtime", "all"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"on the image {picture}" in out
    for runtime in available_runtimes():
        mxnet = re.search(r"top-5 MXNet: +(.*)", out).group(1)
        theirs = re.search(rf"top-5 {runtime}: +(.*)", out).group(1)
        classes = lambda line: [int(c) for c in re.findall(r"(\d+) \(", line)]   # noqa: E731
        assert len(classes(mxnet)) == 5 and classes(mxnet) == classes(theirs), out
    assert out.count("the same top-5 classes in the same order") == len(available_runtimes())


def test_the_image_is_what_mxnet_sees(tmp_path, picture):
    """The MXNet side gets the picture resized to the input and normalised as asked; the Caffe side the same
    pixels raw, channels reversed for --to-bgr."""
    from compiler.contract import InputContract
    from compiler.driver.verify import paired_inputs
    from compiler.driver.verify.image import read_image

    image = read_image(str(picture))
    assert image.shape == (180, 240, 3) and image[90, 80].tolist() == [255, 0, 0]   # RGB: the disc is red
    contract = InputContract(name="data", mxnet_shape=(2, 3, 90, 120), reversed_channels=True,
                             mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 8.0))
    mxnet_side, caffe_side = paired_inputs({"data": contract}, 0, image=image)
    expected = cv2.resize(image, (120, 90), interpolation=cv2.INTER_LINEAR).astype(np.float32).transpose(2, 0, 1)
    assert np.array_equal(caffe_side["data"][1], expected[::-1])
    mean, std = np.array([10.0, 20.0, 30.0])[:, None, None], np.array([2.0, 4.0, 8.0])[:, None, None]
    assert np.allclose(mxnet_side["data"][0], (expected - mean) / std, atol=1e-5)


@pytest.mark.slow
def test_an_ssd_on_a_real_image_lists_and_draws_both_sides(tmp_path, capsys, picture):
    plot = tmp_path / "detections.png"
    code = main(["convert", "ssd_300_mobilenet0.25_voc", "--random-init", "0", "--target", "caffe-ssd",
                 "-o", str(tmp_path / "ssd"), "--verify", "--image", str(picture), "--mean", "123.7,116.3,103.5",
                 "--std", "58.4,57.1,57.4", "--runtime", "all", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count(": equal") == len(available_runtimes()), out
    for runtime in available_runtimes():
        block = out.split("best detections: GluonCV")[available_runtimes().index(runtime) + 1]
        rows = [line for line in block.splitlines()[1:6]]
        assert len(rows) == 5 and all(left.strip() == right.strip() for left, right in
                                      (row.split("|") for row in rows)), block
    png = plot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


@pytest.mark.parametrize("make", ["missing", "not an image", "directory"])
def test_a_bad_image_is_exit_2_before_any_work(tmp_path, capsys, make):
    path = tmp_path / "x.png"
    if make == "not an image":
        path.write_bytes(b"GIF89a but not really")
    elif make == "directory":
        path.mkdir()
    code = main(["convert", "mobilenet0.25", "--random-init", "0", "-o", str(tmp_path / "m"), "--verify",
                 "--image", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "--image" in err and "Traceback" not in err, err
    assert not (tmp_path / "m.prototxt").exists()


def test_image_and_plot_need_verification(tmp_path, capsys, picture):
    assert main(["convert", "mobilenet0.25", "--random-init", "0", "-o", str(tmp_path / "m"),
                 "--image", str(picture)]) == 2
    assert "add --verify" in capsys.readouterr().err
    assert main(["convert", "mobilenet0.25", "--random-init", "0", "-o", str(tmp_path / "m"), "--verify",
                 "--plot", str(tmp_path / "p.png")]) == 2
    assert "--plot draws" in capsys.readouterr().err
