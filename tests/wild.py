"""Where the real checkpoints of ../shared/wild_models/ are (never copied into the repository), and how each is fed:
one home for every test that reads them. GLUON2CAFFE_WILD_MODELS moves the folder; GLUON2CAFFE_REQUIRE_WILD_MODELS
(set by .ci/run) turns their absence into an error instead of a skip."""
from __future__ import annotations

import os
import pathlib

import pytest

WILD = pathlib.Path(os.environ.get("GLUON2CAFFE_WILD_MODELS",
                                   pathlib.Path(__file__).resolve().parents[2] / "shared" / "wild_models"))

# folder: (symbol file, params file, the input its code feeds, options a user deploying it would add)
CHECKPOINTS = {
    "mtcnn_det1": ("det1-symbol.json", "det1-0001.params", "1,3,37,53", ("--mean", "127.5", "--std", "128")),
    "mtcnn_det2": ("det2-symbol.json", "det2-0001.params", "4,3,24,24", ("--mean", "127.5", "--std", "128")),
    "mtcnn_det4": ("det4-symbol.json", "det4-0001.params", "2,15,24,24", ()),
    "mobileface_v1": ("MobileFace_Identification_V1-symbol.json", "MobileFace_Identification_V1-0000.params",
                      "1,1,100,100", ("--mean", "127.5", "--std", "127.5")),
    "genderage": ("model-symbol.json", "model-0000.params", "1,3,112,112", ("--to-bgr",)),
    "lffd_plate_small": ("symbol_64_512_16L_3scales_v1_small_deploy.json",
                         "train_64_512_16L_3scales_v1_small_iter_1000000.params", "1,3,480,640", ()),
    "lenet_toy": ("LeNet-symbol.json", "LeNet-0010.params", "1,1,28,28", ("--input-scale", "0.00390625")),
}


def require_wild_models() -> pathlib.Path:
    """The folder, or a skip (an error under GLUON2CAFFE_REQUIRE_WILD_MODELS) when it is not there."""
    if not WILD.is_dir():
        if os.environ.get("GLUON2CAFFE_REQUIRE_WILD_MODELS"):
            raise RuntimeError(f"GLUON2CAFFE_REQUIRE_WILD_MODELS is set but {WILD} does not exist")
        pytest.skip(f"the shared real checkpoints are not at {WILD} (set GLUON2CAFFE_WILD_MODELS)",
                    allow_module_level=True)
    return WILD


def files_of(folder: str) -> tuple[str, str, str]:
    """(symbol path, params path, input shape) of one checkpoint."""
    symbol, params, shape, _ = CHECKPOINTS[folder]
    return str(WILD / folder / symbol), str(WILD / folder / params), shape
