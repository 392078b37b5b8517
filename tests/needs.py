"""What a test needs beyond the MXNet-free install (Python 3.12+ has no MXNet): a test that builds models with MXNet
or GluonCV is marked with these and skips, saying why, where they are not installed."""
import importlib.util

import pytest

HAS_MXNET = importlib.util.find_spec("mxnet") is not None
HAS_GLUONCV = importlib.util.find_spec("gluoncv") is not None

needs_mxnet = pytest.mark.skipif(not HAS_MXNET, reason="MXNet (Python ≤ 3.11) builds this test's model or is its "
                                                       "reference")
needs_zoo = pytest.mark.skipif(not (HAS_MXNET and HAS_GLUONCV), reason="GluonCV's model zoo (MXNet, Python ≤ 3.11) "
                                                                       "builds this test's model")
