"""Run a Caffe model in pycaffe, in its own process: `python -m compiler.driver.verify.pycaffe_runner PROTOTXT CAFFEMODEL
INPUTS.npz OUTPUTS.npz LAYER...`. Caffe is imported first and alone (with MXNet's OpenBLAS loaded first its
results move by ~1e-6), and a Caffe CHECK failure aborts only this process."""
import sys


def main(argv: list[str]) -> int:
    import caffe  # noqa: F401  (first, before anything that loads another BLAS)
    import numpy as np

    prototxt, caffemodel, inputs_path, outputs_path, *layers = argv
    caffe.set_mode_cpu()
    net = caffe.Net(prototxt, caffe.TEST, weights=caffemodel)
    inputs = np.load(inputs_path)
    for name in inputs.files:
        net.blobs[name].reshape(*inputs[name].shape)
        net.blobs[name].data[...] = inputs[name]
    net.forward()
    outputs = {f"out{i}": net.blobs[net.top_names[layer][0]].data.copy() for i, layer in enumerate(layers)}
    np.savez(outputs_path, **outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
