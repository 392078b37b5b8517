"""ncnn-flavoured Caffe: what caffe2ncnn reads, with ncnn's native ReLU6; no in-place layers (caffe2ncnn renames
their tops), no padded average pooling (ncnn excludes the padding), 4-D batch-first Permutes only, and no
InnerProduct/Scale axis (ignored) — caffe-dialects.md §4, §7."""
from backends import caffe_ssd
from backends.proto import caffe_ncnn_pb2
from backends.target import TargetPolicy

TARGET = caffe_ssd.TARGET.extend(
    name="ncnn",
    proto=caffe_ncnn_pb2,
    layers={"ReLU6"},
    policy=TargetPolicy(inplace=False, average_pool_counts_padding=False, permute_any_order=False,
                        axis_params=False),
    description="ncnn's caffe2ncnn",
)
