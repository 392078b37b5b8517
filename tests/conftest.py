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


def pytest_report_header(config):
    from compiler.driver.verify.runtimes import pycaffe_path

    path = pycaffe_path()
    return f"pycaffe: {path}" if path else ("pycaffe: NOT built: lowering tests run in OpenCV only, pycaffe tests skip "
                                            "(build it with tests/runtimes/build_pycaffe.sh)")


def pytest_collection_modifyitems(config, items):
    import pytest

    from compiler.driver.verify.runtimes import pycaffe_path

    if pycaffe_path():
        return
    if os.environ.get("GLUON2CAFFE_REQUIRE_PYCAFFE"):
        raise pytest.UsageError("GLUON2CAFFE_REQUIRE_PYCAFFE is set but pycaffe is not built "
                                "(tests/runtimes/build_pycaffe.sh)")
    skip = pytest.mark.skip(reason="pycaffe is not built here (tests/runtimes/build_pycaffe.sh); CI builds and "
                                   "requires it")
    for item in items:
        if "pycaffe" in item.keywords:
            item.add_marker(skip)


import pytest  # noqa: E402


@pytest.fixture(params=["opencv", pytest.param("caffe", marks=pytest.mark.pycaffe)])
def runtime(request):
    """Each whole-model test runs once per runtime: OpenCV's dnn and the reference pycaffe."""
    return request.param
