"""MXNet's params files (`mx.nd.save`: PREFIX-NNNN.params, save_parameters) read without MXNet.

The file is a list of NDArrays and, optionally, their names (docs/mxnet.md#params-files): a u64 magic 0x112 and a
reserved u64; a u64 count and that many arrays; a u64 count and that many names (u64 length + UTF-8 bytes), none or
one per array. An array starts with a u32 that is either a magic — V2 (0xF993FAC9) and V3 (0xF993FACA): an i32
storage type, then the shape; V1 (0xF993FAC8): the shape — or, in files of MXNet before 0.9, the number of dims of a
shape whose dims are u32. A shape is a u32 (i32 in V3, −1 meaning unknown) dim count and i64 dims; no dims is an
empty array, and nothing follows it. Then the context (two i32), an i32 type flag, and the values, little-endian.

Every count and length is checked against the bytes that are left before anything is allocated: a file that claims
more than it holds is a ParamError naming the array, never a large allocation. Arrays are read-only views of the
mapped file (nothing is copied); they stay valid while an array refers to the map."""
from __future__ import annotations

import functools
import math
import mmap
import os
import struct

import numpy as np

from compiler.errors import ParamError

LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
# MXNet's type flags (mshadow): the dtypes a params file may hold.
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8, 6: np.int64,
          7: np.bool_, 8: np.int16, 9: np.uint16, 10: np.uint32, 11: np.uint64}
_DTYPES = {flag: np.dtype(t).newbyteorder("<") for flag, t in DTYPES.items()}
STORAGE = {1: "row_sparse", 2: "csr"}
MAX_DIMS = 32   # MXNet's own limit on a shape's dims


_U32, _I32, _U64 = struct.Struct("<I"), struct.Struct("<i"), struct.Struct("<Q")
_CONTEXT_AND_TYPE = struct.Struct("<iii")


class _Reader:
    """Little-endian reads from a buffer, each checked against what is left. What is read is described by a
    template and its arguments (`what.format(*args)`), composed only for an error message: the reader runs once per
    array and field, and a message built eagerly each time was a fifth of the reading."""

    def __init__(self, buffer, path: str):
        self.buffer, self.offset, self.path, self.size = buffer, 0, path, len(buffer)

    @property
    def left(self) -> int:
        return self.size - self.offset

    def fail(self, message: str) -> ParamError:
        return ParamError(f"params file {self.path!r} is not a valid MXNet params file: {message} (at byte "
                          f"{self.offset})", hint="the file is truncated or corrupt; save it again with "
                                                  "HybridBlock.export() or save_parameters()")

    def take(self, count: int, what: str, *args) -> int:
        start = self.offset
        if count < 0 or count > self.size - start:
            raise self.fail(f"{what.format(*args)} needs {count} bytes, {self.size - start} are left")
        self.offset = start + count
        return start

    def unpack(self, layout: struct.Struct, what: str, *args) -> tuple:
        start = self.offset   # take(), written out: this runs several times per array
        if layout.size > self.size - start:
            raise self.fail(f"{what.format(*args)} needs {layout.size} bytes, {self.size - start} are left")
        self.offset = start + layout.size
        return layout.unpack_from(self.buffer, start)

    def u32(self, what: str, *args) -> int:
        return self.unpack(_U32, what, *args)[0]

    def i32(self, what: str, *args) -> int:
        return self.unpack(_I32, what, *args)[0]

    def u64(self, what: str, *args) -> int:
        return self.unpack(_U64, what, *args)[0]


@functools.cache
def _dims_layout(ndim: int, dim_code: str) -> struct.Struct:
    return struct.Struct(f"<{ndim}{dim_code}")


def _shape(reader: _Reader, index: int, dim_code: str = "q", ndim: int | None = None) -> tuple[int, ...] | None:
    """Array `index`'s shape (None: an unknown V3 shape); `ndim` given when the caller already read it."""
    if ndim is None:
        ndim = reader.i32("array {}: its number of dims", index)
    if ndim == -1:
        return None
    if not 0 <= ndim <= MAX_DIMS:
        raise reader.fail(f"array {index} claims {ndim} dims")
    if not ndim:
        return ()
    dims = reader.unpack(_dims_layout(ndim, dim_code), "array {}: its dims", index)
    if min(dims) < 0:
        raise reader.fail(f"array {index} has a negative dim {dims}")
    return dims


def _array(reader: _Reader, index: int) -> np.ndarray | None:
    magic = reader.u32("array {}: its header", index)
    if magic in (V2_MAGIC, V3_MAGIC):
        stype = reader.i32("array {}: its storage type", index)
        if stype != 0:
            kind = STORAGE.get(stype, f"storage type {stype}")
            raise ParamError(f"params file {reader.path!r}: array {index} is stored as {kind}, which has no dense "
                             "values to convert", hint="save the parameters as dense arrays (tostype('default'))")
        shape = _shape(reader, index)
    elif magic == V1_MAGIC:
        shape = _shape(reader, index)
    elif magic <= MAX_DIMS:   # before MXNet 0.9: the header is the number of dims, and the dims are u32
        shape = _shape(reader, index, "I", ndim=magic)
    else:
        raise reader.fail(f"array {index} begins with {magic:#x}, which is no array header")
    # No dims is an empty array, except in V3 (NumPy shapes), where it is a scalar; an unknown V3 shape is empty.
    if shape is None or (len(shape) == 0 and magic != V3_MAGIC):
        return None   # nothing follows the shape of an empty array
    _, _, flag = reader.unpack(_CONTEXT_AND_TYPE, "array {}: its context and type", index)
    dtype = _DTYPES.get(flag)
    if dtype is None:
        raise reader.fail(f"array {index} has an unknown type flag {flag}")
    count = math.prod(shape)
    if math.prod(d for d in shape if d) * dtype.itemsize >= 1 << 63:   # no NumPy array can have it, even when empty
        raise reader.fail(f"array {index} claims a shape {shape} of more than 2^63 bytes")
    start = reader.take(count * dtype.itemsize, "array {} {} of {}", index, shape, dtype)
    return np.frombuffer(reader.buffer, dtype=dtype, count=count, offset=start).reshape(shape)


def read_params(path: str) -> list[tuple[str | None, np.ndarray | None]]:
    """(name, array) of every array in an MXNet params file, in file order; names are None in an unnamed list."""
    if not os.path.isfile(path):
        raise ParamError(f"params file {path!r} does not exist", hint="pass --params PREFIX-0000.params")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    return parse_params(buffer, path)


def parse_params(buffer, path: str = "<bytes>") -> list[tuple[str | None, np.ndarray | None]]:
    """read_params on bytes already in memory (any buffer)."""
    reader = _Reader(memoryview(buffer).cast("B") if not isinstance(buffer, (bytes, mmap.mmap)) else buffer, path)
    magic, _ = reader.unpack(struct.Struct("<QQ"), "the file header")
    if magic != LIST_MAGIC:
        raise reader.fail(f"the header is {magic:#x}, not MXNet's 0x112")
    count = reader.u64("the number of arrays")
    if count > reader.left // 4:   # every array takes at least its 4-byte header
        raise reader.fail(f"it claims {count} arrays")
    arrays = [_array(reader, i) for i in range(count)]
    name_count = reader.u64("the number of names")
    if name_count not in (0, count):
        raise reader.fail(f"{name_count} names for {count} arrays")
    names: list[str | None] = []
    for i in range(name_count):
        length = reader.u64("name {}: its length", i)
        start = reader.take(length, "name {}", i)
        try:
            names.append(bytes(reader.buffer[start:start + length]).decode("utf-8"))
        except UnicodeDecodeError:
            raise reader.fail(f"name {i} is not UTF-8") from None
    if reader.left:
        raise reader.fail(f"{reader.left} bytes follow the names")
    return list(zip(names or [None] * count, arrays))


def load_params(path: str) -> dict[str, np.ndarray]:
    """The named arrays of a params file by parameter name (`arg:`/`aux:` prefixes removed), as float32 read-only
    arrays: float32 ones are views of the file, other float types are converted."""
    entries = read_params(path)
    if entries and entries[0][0] is None:
        raise ParamError(f"params file {path!r} holds an unnamed list of arrays",
                         hint="save with HybridBlock.export() so every array has its name")
    params = {}
    for key, array in entries:
        name = key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key
        if array is None:
            raise ParamError(f"parameter '{name}' in {path!r} is an empty array", hint="the params file is corrupt")
        if array.dtype.kind not in "fiub":
            raise ParamError(f"parameter '{name}' in {path!r} has type {array.dtype}")
        if array.dtype != np.float32:
            array = array.astype(np.float32)
            array.setflags(write=False)
        params[name] = array
    return params
