"""Regenerate the *_pb2.py modules from our .proto files: `python -m backends.proto.generate`.

Uses the protoc bundled in grpcio-tools (a test extra), whose protobuf release matches the runtime pin.
"""
from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).parent


def generate(out_dir: pathlib.Path = HERE) -> list[pathlib.Path]:
    from grpc_tools import protoc

    written = []
    for proto in sorted(HERE.glob("*.proto")):
        code = protoc.main(["protoc", f"-I{HERE}", f"--python_out={out_dir}", str(proto)])
        if code != 0:
            raise RuntimeError(f"protoc failed on {proto.name}")
        written.append(out_dir / (proto.stem + "_pb2.py"))
    return written


if __name__ == "__main__":
    for path in generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path)
