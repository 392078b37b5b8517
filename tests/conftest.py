import importlib.util
import os
import sys
import warnings

# Keep numerics single-threaded and repeatable across the MXNet and OpenCV runs in one process.
os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
# MXNet's oneDNN graph partitioner fails to bind some valid graphs (two Dropouts in a row: "arg_names.size() ==
# in_args_map.size()"); the reference needs no fusion.
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Where MXNet is installed, its loader and shape inference check every conversion the tests make
# (compiler/frontend/mxnet_check.py); GLUON2CAFFE_CHECK_MXNET=0 turns that off.
if importlib.util.find_spec("mxnet") is not None:
    os.environ.setdefault("GLUON2CAFFE_CHECK_MXNET", "1")
# MXNet's own UserWarnings say nothing about the models. (A filterwarnings line naming the mxnet module in the pytest
# configuration would import MXNet in every test run, the MXNet-free ones included.)
warnings.filterwarnings("ignore", category=UserWarning, module=r"mxnet\.")


# Runtimes built outside the project (each by its script in tests/runtimes/): where one is missing, the tests
# marked with its marker skip, saying so, unless CI requires it. marker -> (is it here?, its script, CI's variable)
def _external_runtimes():
    from compiler.driver.verify.runtimes import pycaffe_path, rknn_python

    return {"pycaffe": (pycaffe_path(), "tests/runtimes/build_pycaffe.sh", "GLUON2CAFFE_REQUIRE_PYCAFFE"),
            "rknn": (rknn_python(), "tests/runtimes/build_rknn.sh", "GLUON2CAFFE_REQUIRE_RKNN")}


def pytest_report_header(config):
    lines = []
    for marker, (found, script, _) in _external_runtimes().items():
        lines.append(f"{marker}: {found}" if found else f"{marker}: NOT built here: its tests skip (build it with "
                                                         f"{script})")
    return lines


def pytest_collection_modifyitems(config, items):
    import pytest

    for marker, (found, script, required) in _external_runtimes().items():
        if found:
            continue
        if os.environ.get(required):
            raise pytest.UsageError(f"{required} is set but {marker} is not built ({script})")
        skip = pytest.mark.skip(reason=f"{marker} is not built here ({script}); CI builds and requires it")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


import pytest  # noqa: E402


@pytest.fixture(params=["opencv", pytest.param("caffe", marks=pytest.mark.pycaffe)])
def runtime(request):
    """Each whole-model test runs once per runtime: OpenCV's dnn and the reference pycaffe."""
    return request.param
