"""Before verifying written files, make sure they are what these options make of this model: verification of other
files would blame the conversion for options that do not match (a missing --to-bgr, --mean/--std given to verify
but not to convert, another seed). The model is converted again (nothing written) and both files are compared byte
by byte; on a difference, the option whose change reproduces them is named.

The same comparison checks the two frontends of exported files against each other (frontends_difference): the
bytes must not depend on whether MXNet or our own readers read the files."""
from __future__ import annotations

from compiler.errors import ConversionError


class _Comparing:
    """A write-only stream that compares what is written with a file, remembering where they first differ."""

    def __init__(self, path: str):
        self.file = open(path, "rb")
        self.offset, self.differs_at = 0, None

    def write(self, data) -> None:
        data = bytes(data)
        if self.differs_at is None:
            theirs = self.file.read(len(data))
            if theirs != data:
                same = next((i for i, (a, b) in enumerate(zip(theirs, data)) if a != b), min(len(theirs), len(data)))
                self.differs_at = self.offset + same
        self.offset += len(data)

    def close(self) -> None:
        if self.differs_at is None and self.file.read(1):
            self.differs_at = self.offset   # the file is longer
        self.file.close()


def difference(compiled, prefix: str) -> str | None:
    """How the files at PREFIX differ from the compilation's (None when they are the same bytes); a difference in a
    layer that reads an input says so (where --mean/--std/--input-scale and --to-bgr act)."""
    structure, weights = compiled.target.files.paths(prefix)
    with open(structure, encoding="utf-8") as f:
        on_disk = f.read().splitlines()
    produced = compiled.structure_text().splitlines()
    if on_disk != produced:
        line = next((i for i, (a, b) in enumerate(zip(on_disk, produced)) if a != b), min(len(on_disk), len(produced)))
        if compiled.target.files.ncnn:
            return f"the .param differs at line {line + 1}"
        layer = _layer_at(produced, line) or _layer_at(on_disk, line)
        return f"the prototxt differs at line {line + 1}" + (f" (layer '{layer}')" if layer else "")
    stream = _Comparing(weights)
    try:
        compiled.write_weights(stream)
    finally:
        stream.close()
    if stream.differs_at is None:
        return None
    name = None if compiled.target.files.ncnn else _weights_layer(compiled, stream.differs_at)
    if name is None:
        return f"the weights differ (from byte {stream.differs_at} of {weights})"
    inputs = {layer.tops[0] for layer in compiled.layers if layer.type == "Input"}
    reads_input = any(layer.name == name and set(layer.bottoms) & inputs for layer in compiled.layers)
    return f"the weights differ (first in layer '{name}'" + (
        ", which reads the input: --mean/--std/--input-scale and --to-bgr act there)" if reads_input else ")")


def _layer_at(lines: list[str], index: int) -> str | None:
    for line in reversed(lines[:index + 1]):
        stripped = line.strip()
        if stripped.startswith("name:") and line.startswith("  name:"):
            return stripped.split('"')[1]
    return None


def _weights_layer(compiled, offset: int) -> str | None:
    """The name of the layer whose record holds byte `offset` of the caffemodel (None: the header, or past the
    end)."""
    return next((name for name, start, end in compiled.weights().layer_spans() if start <= offset < end), None)


def check_same_conversion(compiled, convert, prefix: str, flags: str) -> None:
    """ConversionError unless `compiled` reproduces PREFIX.*; it names the option whose change (`convert(options)`
    compiles, nothing written) does reproduce them, when one does. `flags` lists the options for the hint."""
    from compiler.driver.cli_options import variations

    found = difference(compiled, prefix)
    if found is None:
        return
    files = " and ".join(compiled.target.files.paths(prefix))
    for varied, described in variations(compiled.options):
        try:
            reproduced = difference(convert(varied), prefix) is None
        except ConversionError:
            continue   # the model does not convert that way
        if reproduced:
            raise ConversionError(f"{files} were converted with other options than these: "
                                  f"{found}; they are what this model gives with {described}",
                                  hint="pass verify the options that convert had")
    raise ConversionError(f"{files} were not converted from this model with these options: "
                          f"{found}, and no single option change reproduces them",
                          hint=f"pass verify the model, weights (--random-init seed, --params) and options that "
                               f"convert had ({flags})")


def frontends_difference(symbol_path: str, params_path: str, input_shape, target: str, prefix: str,
                         options=None) -> str | None:
    """Convert exported files twice — our readers (no MXNet), then MXNet's reading of the same files with MXNet's
    shape inference checking every value — writing the first to PREFIX; how the second's files differ from them, or
    None when they are the same bytes."""
    from compiler.driver.api import compile_model
    from compiler.driver.sources import SymbolFiles

    native = compile_model(SymbolFiles(symbol_path, params_path), input_shape, target=target, options=options)
    native.save(prefix)
    through_mxnet = compile_model(SymbolFiles(symbol_path, params_path, mxnet_reader=True), input_shape,
                                  target=target, options=options)
    return difference(through_mxnet, prefix)
