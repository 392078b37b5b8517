"""Every op family; importing this package makes the op registry complete."""
from compiler.ops import activation, arith, detection, nn, tensor  # noqa: F401
from compiler.ops.activation import Activation, Clip, LeakyReLU, ReLU6, Softmax
from compiler.ops.arith import BroadcastArith, ElemwiseAdd, Eltwise, Power, ScalarOp
from compiler.ops.nn import BatchNorm, Convolution, Deconvolution, FullyConnected, Pooling, Scale, batchnorm_affine
from compiler.ops.tensor import Concat, Copy, Dropout, Flatten, Permute, Reshape, Transpose

__all__ = [
    "Activation", "Clip", "LeakyReLU", "ReLU6", "Softmax", "ElemwiseAdd", "BroadcastArith", "Eltwise", "Power",
    "ScalarOp", "Permute", "BatchNorm", "Convolution", "Deconvolution", "FullyConnected", "Pooling", "Scale",
    "batchnorm_affine", "Concat", "Copy", "Dropout", "Flatten", "Reshape", "Transpose"
]
