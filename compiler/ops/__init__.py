"""Every op family; importing this package makes the op registry complete."""
from compiler.ops import activation, arith, nn, tensor  # noqa: F401
from compiler.ops.activation import Activation, LeakyReLU, Softmax
from compiler.ops.arith import ElemwiseAdd
from compiler.ops.nn import BatchNorm, Convolution, FullyConnected, Pooling, Scale, batchnorm_affine
from compiler.ops.tensor import Concat, Copy, Dropout, Flatten, Reshape, Transpose

__all__ = ["Activation", "LeakyReLU", "Softmax", "ElemwiseAdd", "BatchNorm", "Convolution", "FullyConnected",
           "Pooling", "Scale", "batchnorm_affine", "Concat", "Copy", "Dropout", "Flatten", "Reshape", "Transpose"]
