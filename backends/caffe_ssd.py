"""weiliu89/caffe (branch ssd): BVLC 1.0 plus Permute, PriorBox, DetectionOutput and Normalize."""
from backends import caffe
from backends.proto import caffe_ssd_pb2

_PIPELINE = list(caffe.TARGET.pipeline)
_PIPELINE.insert(_PIPELINE.index("transpose_to_permute"), "lower_l2_normalization")

TARGET = caffe.TARGET.extend(
    name="caffe-ssd",
    proto=caffe_ssd_pb2,
    layers={"Permute", "PriorBox", "DetectionOutput", "Normalize"},
    pipeline=_PIPELINE,
    description="weiliu89/caffe, branch ssd",
)
