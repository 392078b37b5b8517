import os
import sys

# Keep numerics single-threaded and repeatable across the MXNet and OpenCV runs in one process.
os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
