"""The one writer: layers → prototxt through protobuf's text format, and a streamed, atomic caffemodel."""
from __future__ import annotations

import concurrent.futures
import contextlib
import io
import itertools
import os
import secrets
import tempfile

import numpy as np
from google.protobuf import text_format

from compiler.errors import OutputError
from compiler.ir.deferred import BLOCK_ELEMENTS, ScaledArray

MAX_CAFFEMODEL_BYTES = 2**31 - 1   # every consumer caps protobuf reads at INT_MAX (docs/caffe.md#writer)
_NET_LAYER_FIELD = 100
_NET_NAME_FIELD = 1
_LAYER_BLOBS_FIELD = 7
_BLOB_DATA_FIELD = 5


def fill(message, values: dict) -> None:
    """Set fields by name; a field the dialect's schema lacks raises at once."""
    for key, value in values.items():
        field = message.DESCRIPTOR.fields_by_name.get(key)
        if field is None:
            raise ValueError(f"{message.DESCRIPTOR.full_name} has no field '{key}' in this dialect")
        repeated = field.label == field.LABEL_REPEATED
        if field.message_type is not None:
            if repeated:
                for item in value:
                    fill(getattr(message, key).add(), item)
            else:
                fill(getattr(message, key), value)
        elif field.enum_type is not None:
            number = field.enum_type.values_by_name[value].number
            setattr(message, key, number)
        elif repeated:
            getattr(message, key).extend(value)
        else:
            setattr(message, key, value)


def net_message(layers, target, name: str):
    """The prototxt as a NetParameter message: layer fields and params, never blobs (docs/caffe.md#writer)."""
    proto = target.proto
    net = proto.NetParameter(name=name)
    for layer in layers:
        message = net.layer.add(name=layer.name, type=layer.type)
        message.bottom.extend(layer.bottoms)
        message.top.extend(layer.tops)
        try:
            fill(message, layer.params)
        except (ValueError, KeyError, TypeError) as exc:
            raise OutputError(f"layer '{layer.name}' ({layer.type}) cannot be written for target {target.name}: "
                              f"{exc}", hint="this is a converter bug; please report it") from None
    return net


def prototxt_text(net) -> str:
    return text_format.MessageToString(net)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _little_endian_bytes(array: np.ndarray) -> memoryview:
    return memoryview(np.require(array, dtype="<f4", requirements="C")).cast("B")


def _key(number: int) -> bytes:
    return _varint(number << 3 | 2)   # every field written here is length-delimited


class CaffeWeights:
    """The caffemodel: per layer only name, type and blobs, each blob a shape and one packed float32 run.

    Lightweight: it holds the layers' arrays (views of the model's own buffers where no pass changed them) and
    serialises on demand — write_to streams the file chunk by chunk from those buffers; bytes() builds it whole."""

    def __init__(self, layers, target, name: str):
        wanted = target.policy.weightless_entries
        self.layers = [layer for layer in layers if layer.blobs or layer.type in wanted]
        self.target = target
        self.name = name

    def _blob_header(self, array) -> bytes:
        if array.ndim == 0:
            # A 0-axis blob (a shared scale) as the legacy 4-D shape 1×1×1×1: BVLC's shape check pads a 0-axis blob
            # with 1s and accepts it, OpenCV reads one value (an empty `shape` would make it fail to load).
            legacy = b"".join(_varint(number << 3) + _varint(1) for number in (1, 2, 3, 4))
            return legacy + _key(_BLOB_DATA_FIELD) + _varint(array.nbytes)
        shape = self.target.proto.BlobShape(dim=list(array.shape)).SerializeToString()
        return _key(7) + _varint(len(shape)) + shape + _key(_BLOB_DATA_FIELD) + _varint(array.nbytes)

    def _pieces(self):
        """The file in order, as bytes (keys, lengths, names, shapes) and blobs: float32 arrays written from their
        own buffers, or ScaledArrays computed block by block as they are written (compiler/ir/deferred.py)."""
        return (piece for _, piece in self._records())

    def _records(self):
        """(the layer whose record this is, or None for the net's header; a piece of the file), in file order."""
        yield None, _key(_NET_NAME_FIELD) + _varint(len(self.name.encode())) + self.name.encode()
        for layer in self.layers:
            head = self.target.proto.NetParameter().layer.add(name=layer.name, type=layer.type).SerializeToString()
            arrays = [b if isinstance(b, ScaledArray) else np.require(b, dtype="<f4", requirements="C")
                      for b in layer.blobs]   # keeps 0-axis blobs 0-axis
            headers = [self._blob_header(a) for a in arrays]
            blob_sizes = [len(h) + a.nbytes for h, a in zip(headers, arrays)]
            body = len(head) + sum(len(_key(_LAYER_BLOBS_FIELD)) + len(_varint(n)) + n for n in blob_sizes)
            yield layer, _key(_NET_LAYER_FIELD) + _varint(body) + head
            for header, array, size in zip(headers, arrays, blob_sizes):
                yield layer, _key(_LAYER_BLOBS_FIELD) + _varint(size) + header
                yield layer, array

    def layer_spans(self) -> list[tuple[str, int, int]]:
        """(layer name, first byte, end) of each layer's record in the file."""
        spans: dict[int, list] = {}
        position = 0
        for layer, piece in self._records():
            size = len(piece) if isinstance(piece, bytes) else piece.nbytes
            if layer is not None:
                spans.setdefault(id(layer), [layer.name, position, position])[2] = position + size
            position += size
        return [tuple(span) for span in spans.values()]

    def nbytes(self) -> int:
        return sum(len(piece) if isinstance(piece, bytes) else piece.nbytes for piece in self._pieces())

    def write_to(self, stream) -> None:
        """Write the file to `stream`. A ScaledArray's next block is computed on a second thread while the current
        one is written (NumPy and the write both release the GIL): on ResNet-50 that hid most of the folded
        weights' float64 arithmetic behind the copy into the file."""
        pool, pending = None, None   # pending: the block being computed, written before anything after it
        buffers = itertools.cycle([np.empty(BLOCK_ELEMENTS, np.float32), np.empty(BLOCK_ELEMENTS, np.float32)])

        def write_pending():
            nonlocal pending
            if pending is not None:
                stream.write(_little_endian_bytes(pending.result()))
                pending = None

        try:
            for piece in self._pieces():
                if not isinstance(piece, ScaledArray):
                    write_pending()
                    stream.write(piece if isinstance(piece, bytes) else _little_endian_bytes(piece))
                    continue
                pool = pool or concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="caffemodel")
                for part in piece.parts():
                    # Two buffers suffice: the block submitted now reuses the one whose write just finished.
                    computing = pool.submit(ScaledArray.compute_part, part, next(buffers))
                    write_pending()
                    pending = computing
            write_pending()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def SerializeToString(self) -> bytes:   # noqa: N802  (the protobuf message spelling the seed API used)
        buffer = io.BytesIO()
        self.write_to(buffer)
        return buffer.getvalue()

    __bytes__ = SerializeToString   # bytes(weights): the whole caffemodel, for callers who want it in memory


def check_size(weights: CaffeWeights) -> None:
    total = sum(b.size * 4 for layer in weights.layers for b in layer.blobs)
    if total > MAX_CAFFEMODEL_BYTES:
        raise OutputError(f"the weights take {total / 2**30:.2f} GiB; Caffe, OpenCV and ncnn cannot read a "
                          "caffemodel over 2 GiB", hint="reduce the model (e.g. fewer classes) before converting")


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _temp_beside(path: str) -> str:
    """A new empty file in path's directory, for writing what will replace path."""
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=f".{os.path.basename(path)}.",
                                    suffix=".tmp")
    os.close(handle)
    return temp


def _free_name_beside(path: str) -> str:
    """A name no file has, in path's directory (for a hard link to the file being replaced)."""
    return os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{secrets.token_hex(8)}.old")


def check_output_prefix(prefix: str) -> None:
    """Refuse an output prefix that names a directory or whose directory does not exist, before any work is done."""
    if prefix.endswith(os.sep) or os.path.isdir(prefix):
        raise OutputError(f"output prefix {prefix!r} is a directory",
                          hint=f"give a file prefix such as {os.path.join(prefix, 'model')}")
    directory = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(directory):
        raise OutputError(f"output directory {directory!r} does not exist", hint="create it first")


def write_files(prefix: str, prototxt: str, weights: CaffeWeights) -> tuple[str, str]:
    """Write PREFIX.prototxt and PREFIX.caffemodel atomically (write_atomically); returns their paths."""
    check_size(weights)
    caffemodel, prototxt_path = write_atomically(prefix, {".caffemodel": weights.write_to,
                                                          ".prototxt": lambda f: f.write(prototxt.encode())})
    return prototxt_path, caffemodel


def write_atomically(prefix: str, writers: dict) -> list[str]:
    """Write PREFIX + each suffix of `writers` (suffix -> a function writing the file's bytes to a stream): all the
    new files or, after any failure, exactly the files that were there before (an earlier set stays whole), never
    half of one. Returns the paths in the order given."""
    check_output_prefix(prefix)
    targets = tuple(prefix + suffix for suffix in writers)
    writers = tuple(writers.values())
    temps: dict[str, str] = {}
    backups: dict[str, str] = {}   # target -> a hard link to the file it is about to replace
    replaced: list[str] = []
    try:
        for path, write in zip(targets, writers):
            temps[path] = _temp_beside(path)
            with open(temps[path], "wb") as stream:
                write(stream)
            os.chmod(temps[path], _file_mode())
        for path in targets:
            if os.path.exists(path):
                backups[path] = _free_name_beside(path)
                os.link(path, backups[path])
        for path in targets:
            os.replace(temps[path], path)
            replaced.append(path)
    except OSError as exc:
        for path in replaced:   # undo, so that an earlier pair stays a pair
            with contextlib.suppress(OSError):
                if path in backups:
                    os.replace(backups[path], path)
                else:
                    os.unlink(path)
        raise OutputError(f"cannot write {prefix}.*: {exc.strerror or exc}",
                          hint="choose a writable output directory with free space") from None
    finally:
        for leftover in list(temps.values()) + list(backups.values()):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    return list(targets)


def write_text_atomically(path: str, text: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, _file_mode())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
