"""BVLC Caffe 1.0: the layer types of the 1.0 tag only (no round_mode, Clip, Swish or SSD layers)."""
from backends.proto import caffe_bvlc_pb2
from backends.target import Target, TargetPolicy

TARGET = Target(
    name="caffe",
    proto=caffe_bvlc_pb2,
    layers=frozenset({
        "Input", "Convolution", "Deconvolution", "InnerProduct", "Pooling", "BatchNorm", "Scale", "ReLU", "PReLU", "ELU",
        "Sigmoid", "TanH", "BNLL", "AbsVal", "Power", "Softmax", "Eltwise", "Flatten", "Reshape", "Concat",
        "Slice", "Silence",
    }),
    policy=TargetPolicy(inplace=True),
    pipeline=(
        "eliminate_identities",
        "lower_broadcast_arithmetic",
        "reorder_input_layout",
        "fold_constants",
        "fuse_ssd_head",
        "transpose_to_permute",
        "fold_batchnorm",
        "lower_batchnorm",
        "fold_scalar_arithmetic",
        "clip_to_relu",
        "fold_input_normalization",
        "reorder_input_channels",
        "eliminate_dead_code",
    ),
    description="BVLC Caffe 1.0 (tag 1.0)",
)
