"""The params reader (compiler/frontend/params.py) on every layout MXNet writes or reads, and on damaged files:
MXNet-free tests, then MXNet's own files where it is installed."""
import glob
import os
import struct

import numpy as np
import pytest

from compiler.errors import ParamError
from compiler.frontend.params import load_params, parse_params, read_params
from tests.params_files import array_record, params_bytes, save_params
from tests.wild import require_wild_models

RNG = np.random.RandomState(0)
ARRAYS = {"arg:conv0_weight": RNG.standard_normal((4, 3, 3, 3)).astype(np.float32),
          "aux:bn0_moving_var": RNG.uniform(0.5, 2, 4).astype(np.float32),
          "fc_bias": RNG.standard_normal(1).astype(np.float32)}


@pytest.mark.parametrize("layout", ["v1", "v2", "v3", "legacy"])
def test_every_layout_reads_back(layout):
    entries = parse_params(params_bytes(ARRAYS, layout))
    assert [name for name, _ in entries] == list(ARRAYS)
    for (_, got), want in zip(entries, ARRAYS.values()):
        assert got.dtype == np.float32 and np.array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int32, np.uint8, np.int8, np.int64])
def test_other_dtypes_are_read_and_given_as_float32(tmp_path, dtype):
    values = (RNG.standard_normal((2, 5)) * 10).astype(dtype)
    path = tmp_path / "m.params"
    path.write_bytes(params_bytes({"arg:w": values}))
    assert read_params(str(path))[0][1].dtype == dtype
    loaded = load_params(str(path))["w"]
    assert loaded.dtype == np.float32 and np.array_equal(loaded, values.astype(np.float32))


def test_prefixes_are_removed_and_float32_arrays_are_views_of_the_file(tmp_path):
    save_params(str(tmp_path / "m.params"), {"w": np.ones((3, 2))})
    loaded = load_params(str(tmp_path / "m.params"))
    assert list(loaded) == ["w"] and not loaded["w"].flags.writeable and not loaded["w"].flags.owndata


def test_an_unnamed_list_reads_but_does_not_load(tmp_path):
    path = tmp_path / "m.params"
    path.write_bytes(params_bytes(list(ARRAYS.values())))
    assert [name for name, _ in read_params(str(path))] == [None] * 3
    with pytest.raises(ParamError, match="unnamed list of arrays"):
        load_params(str(path))


def test_an_empty_array_is_none():
    entries = parse_params(params_bytes({"empty": np.zeros(()), "w": np.ones(2, np.float32)}, "v2"))
    assert entries[0][1] is None and np.array_equal(entries[1][1], [1, 1])


def _damaged(data: bytes):
    return [
        ("truncated", data[: len(data) // 2], "are left"),
        ("wrong magic", struct.pack("<Q", 0x113) + data[8:], "not MXNet's 0x112"),
        ("huge count", data[:16] + struct.pack("<Q", 2**62) + data[24:], "claims"),
        ("extra bytes", data + b"\0", "follow the names"),
        ("empty file", b"", "needs 16 bytes"),
    ]


@pytest.mark.parametrize("case", _damaged(params_bytes(ARRAYS)), ids=lambda c: c[0])
def test_damaged_files_are_one_clear_error(case):
    _, data, message = case
    with pytest.raises(ParamError, match=message):
        parse_params(data)


def test_a_shape_claiming_more_than_the_file_holds_allocates_nothing():
    record = struct.pack("<Iii3q", 0xF993FAC9, 0, 3, 2**20, 2**20, 2**20) + struct.pack("<iii", 1, 0, 0)
    data = struct.pack("<QQQ", 0x112, 0, 1) + record + struct.pack("<Q", 0)
    with pytest.raises(ParamError, match="needs .* bytes"):
        parse_params(data)


def test_sparse_storage_is_refused_by_name():
    record = struct.pack("<Ii", 0xF993FAC9, 2) + b"\0" * 64
    data = struct.pack("<QQQ", 0x112, 0, 1) + record
    with pytest.raises(ParamError, match="stored as csr"):
        parse_params(data)


def test_a_name_that_is_not_utf8_is_refused():
    data = params_bytes({"w": np.ones(1, np.float32)})
    data = data[: -1] + b"\xff"
    with pytest.raises(ParamError, match="not UTF-8"):
        parse_params(data)


def test_the_writer_and_mxnet_agree_byte_for_byte(tmp_path):
    """tests/params_files.py writes what MXNet writes, so the MXNet-free tests read real files."""
    mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) writes the reference file")
    arrays = {"arg:" + k: v for k, v in {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                                         "b": np.ones(4, np.float32)}.items()}
    mx.nd.save(str(tmp_path / "mx.params"), {k: mx.nd.array(v) for k, v in arrays.items()})
    assert (tmp_path / "mx.params").read_bytes() == params_bytes(arrays, "v2")


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int32", "uint8"])
def test_mxnet_files_of_every_dtype_read_as_mxnet_reads_them(tmp_path, dtype):
    mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) writes the files")
    arrays = {"arg:w": mx.nd.array(RNG.standard_normal((3, 4)) * 5, dtype=dtype), "aux:m": mx.nd.ones(2, dtype=dtype)}
    for name, payload in (("named", arrays), ("unnamed", list(arrays.values()))):
        path = str(tmp_path / f"{name}.params")
        mx.nd.save(path, payload)
        ours = read_params(path)
        theirs = mx.nd.load(path)
        theirs = list(theirs.items()) if isinstance(theirs, dict) else [(None, a) for a in theirs]
        assert [n for n, _ in ours] == [n for n, _ in theirs]
        for (_, got), (_, want) in zip(ours, theirs):
            assert got.dtype == want.dtype and np.array_equal(got, want.asnumpy())


def test_every_real_checkpoint_reads_as_mxnet_reads_it():
    mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) is the reference reader")
    files = sorted(glob.glob(os.path.join(require_wild_models(), "*", "*.params")))
    assert len(files) >= 7
    for path in files:
        ours, theirs = load_params(path), mx.nd.load(path)
        assert sorted(ours) == sorted(k.split(":", 1)[-1] for k in theirs), path
        for key, array in theirs.items():
            assert np.array_equal(ours[key.split(":", 1)[-1]], array.asnumpy().astype(np.float32)), (path, key)


def test_a_legacy_record_holds_u32_dims():
    record = array_record(np.arange(6, dtype=np.float32).reshape(2, 3), "legacy")
    assert record[:12] == struct.pack("<3I", 2, 2, 3)
