"""Ask MXNet itself what an op computes: run one node on chosen inputs. Used to read the exact interpolation
matrices of separable resampling ops (bilinear resize, adaptive pooling) instead of re-deriving MXNet's formulas."""
from __future__ import annotations

import json

import numpy as np

from compiler.errors import UnsupportedOp

_CHUNK_ELEMENTS = 1 << 22   # probe inputs are built in batches of about this many floats


def run_node(op: str, attrs: dict, arrays: list[np.ndarray]) -> np.ndarray:
    """The first output of MXNet op `op` with attribute strings `attrs` on `arrays` (inference mode)."""
    import mxnet as mx

    names = [f"in{i}" for i in range(len(arrays))]
    document = {"nodes": [{"op": "null", "name": n, "inputs": []} for n in names]
                + [{"op": op, "name": "probe", "attrs": {k: str(v) for k, v in attrs.items()},
                    "inputs": [[i, 0, 0] for i in range(len(arrays))]}],
                "arg_nodes": list(range(len(arrays))), "heads": [[len(arrays), 0, 0]],
                "attrs": {"mxnet_version": ["int", 10901]}}
    symbol = mx.sym.load_json(json.dumps(document))
    executor = symbol.bind(mx.cpu(), {n: mx.nd.array(a) for n, a in zip(names, arrays)}, grad_req="null")
    return executor.forward(is_train=False)[0].asnumpy()


def separable_matrices(op: str, attrs: dict, shape: tuple[int, ...], extra: list[np.ndarray], node: str):
    """(rows (Ho, H), cols (Wo, W)) with op(x)[n, c] = rows · x[n, c] · colsᵀ, read from MXNet by one-hot probes and
    then checked on a random input; UnsupportedOp when the op is not such a map."""
    _, _, h, w = shape

    def probe(axis: int) -> np.ndarray:
        size = (h, w)[axis - 2]
        per_probe = h * w
        columns = []
        for start in range(0, size, max(1, _CHUNK_ELEMENTS // per_probe)):
            count = min(size - start, max(1, _CHUNK_ELEMENTS // per_probe))
            x = np.zeros((count, 1, h, w), np.float32)
            for i in range(count):
                if axis == 2:
                    x[i, 0, start + i, :] = 1.0
                else:
                    x[i, 0, :, start + i] = 1.0
            out = run_node(op, attrs, [x, *extra]).astype(np.float64)
            # With one-hot rows (columns), every output column (row) holds the same interpolation weights
            # times the other matrix's row sums, which are 1 for interpolation and averaging.
            columns.append(out[:, 0, :, 0] if axis == 2 else out[:, 0, 0, :])
        return np.concatenate(columns).T

    rows, cols = probe(2), probe(3)
    rng = np.random.RandomState(0)
    x = rng.standard_normal((1, 1, h, w)).astype(np.float32)
    expected = run_node(op, attrs, [x, *extra]).astype(np.float64)[0, 0]
    mapped = rows @ x[0, 0].astype(np.float64) @ cols.T
    if expected.shape != mapped.shape or np.abs(expected - mapped).max() > 1e-5 * max(1.0, np.abs(expected).max()):
        raise UnsupportedOp("the op is not a separable linear map of each plane, so it has no exact Caffe form",
                            node=node, op=op)
    return rows, cols
