"""Run Caffe files in rknn-toolkit2's simulator. This file runs in the toolkit's own environment
(tests/runtimes/build_rknn.sh), as a script: it imports only NumPy and the toolkit, never gluon2caffe.

    python rknn_runner.py PROTOTXT CAFFEMODEL INPUTS.npz OUTPUTS.npz

INPUTS.npz holds the inputs in the prototxt's order as in0, in1, … (NCHW float32); OUTPUTS.npz gets the outputs of
the toolkit's model as out0, out1, … in the order it returns them, and their Caffe blob names as `names` (the toolkit
decides which blobs are outputs: behind a dropped Silence it made the Slice's unread part the output). The model is built for the rk3588 in float16
without quantisation, mean 0 and std 1 (the inputs are given as the model takes them). Each toolkit step that
fails exits with status 3 and names the step; what the toolkit logs goes to this process's stdout and stderr,
which the caller reads for the layers it dropped."""
import sys

import numpy as np


def main(argv) -> int:
    prototxt, caffemodel, given, taken = argv
    from rknn.api import RKNN

    with np.load(given) as loaded:
        inputs = [loaded[f"in{i}"] for i in range(len(loaded.files))]
    rknn = RKNN(verbose=False)
    channels = [[0.0] * (x.shape[1] if x.ndim == 4 else 1) for x in inputs]
    steps = (
        ("config", lambda: rknn.config(target_platform="rk3588", mean_values=channels,
                                       std_values=[[1.0] * len(c) for c in channels], float_dtype="float16")),
        ("load_caffe", lambda: rknn.load_caffe(model=prototxt, blobs=caffemodel)),
        ("build", lambda: rknn.build(do_quantization=False)),
        ("init_runtime", lambda: rknn.init_runtime()),
    )
    for step, call in steps:
        try:
            status = call()
        except Exception as exc:   # the toolkit raises where it should return an error code (load_caffe)
            print(f"rknn_runner: {step} raised {type(exc).__name__}: {exc}", file=sys.stderr)
            return 3
        if status != 0:
            print(f"rknn_runner: {step} returned {status}", file=sys.stderr)
            return 3
    fed = [np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x for x in inputs]
    outputs = rknn.inference(inputs=fed, data_format=["nhwc" if x.ndim == 4 else "nchw" for x in inputs])
    if outputs is None:
        print("rknn_runner: inference returned nothing", file=sys.stderr)
        return 3
    names = list(rknn.rknn_base.ir.outputs)   # the graph the toolkit built, named by Caffe blob (2.5.0)
    if len(names) != len(outputs):
        print(f"rknn_runner: inference returned {len(outputs)} outputs for the model's {len(names)}", file=sys.stderr)
        return 3
    np.savez(taken, names=np.array(names, dtype=str),
             **{f"out{i}": np.asarray(o, np.float32) for i, o in enumerate(outputs)})
    rknn.release()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
