"""Writing MXNet params files without MXNet, in each layout MXNet has written (docs/mxnet.md#params-files): tests
make their files with it where MXNet is not installed, and the fuzzer starts from its output. Independent of the
reader under test: the layout is spelled out here from the format's description, field by field."""
from __future__ import annotations

import struct

import numpy as np

LIST_MAGIC = 0x112
MAGICS = {"v1": 0xF993FAC8, "v2": 0xF993FAC9, "v3": 0xF993FACA}
TYPE_FLAGS = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2, np.dtype(np.uint8): 3,
              np.dtype(np.int32): 4, np.dtype(np.int8): 5, np.dtype(np.int64): 6}


def array_record(array: np.ndarray, layout: str = "v2") -> bytes:
    """One array: "v2"/"v3" (magic, storage type 0, shape), "v1" (magic, shape) or "legacy" (MXNet < 0.9: u32 dim
    count and u32 dims); then context, type flag and little-endian values."""
    array = np.asarray(array)
    shape = array.shape
    if layout == "legacy":
        head = struct.pack(f"<I{len(shape)}I", len(shape), *shape)
    else:
        head = struct.pack("<I", MAGICS[layout])
        if layout in ("v2", "v3"):
            head += struct.pack("<i", 0)
        head += struct.pack(f"<i{len(shape)}q", len(shape), *shape)
    if not shape and layout != "v3":
        return head   # an empty array: nothing follows its shape
    dtype = array.dtype.newbyteorder("<")
    return head + struct.pack("<iii", 1, 0, TYPE_FLAGS[np.dtype(array.dtype)]) + array.astype(dtype).tobytes()


def params_bytes(arrays, layout: str = "v2") -> bytes:
    """A params file of `arrays`: a {name: array} dict (named list) or a list (unnamed)."""
    named = isinstance(arrays, dict)
    values = list(arrays.values()) if named else list(arrays)
    out = struct.pack("<QQQ", LIST_MAGIC, 0, len(values))
    out += b"".join(array_record(v, layout) for v in values)
    names = [n.encode("utf-8") for n in arrays] if named else []
    out += struct.pack("<Q", len(names)) + b"".join(struct.pack("<Q", len(n)) + n for n in names)
    return out


def save_params(path: str, params: dict[str, np.ndarray], layout: str = "v2", prefix: str = "arg:") -> None:
    """`params` as HybridBlock.export writes them (`arg:` names, float32) — or with another layout or prefix."""
    with open(path, "wb") as f:
        f.write(params_bytes({prefix + k: np.asarray(v, np.float32) for k, v in params.items()}, layout))
