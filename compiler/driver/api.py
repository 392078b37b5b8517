"""The compiler API for toolchain builders: source → IR → passes → legality → Caffe files."""
from __future__ import annotations

from typing import TYPE_CHECKING

import os

import attrs

from compiler.contract import BoxesEnding, DetectionEnding, InputContract, identity_contracts
from compiler.ir.graph import Graph, Value
from compiler.options import Options

if TYPE_CHECKING:   # imported when used: building the dialects' protobuf classes takes a moment
    from backends.target import Target
    from compiler.driver.sources import ModelSource
    from passes.manager import Report


@attrs.define
class Compilation:
    """A compiled model: the final IR, the pass report, the Caffe layers ready to be written, and what the model
    takes (its input contract) and ends in."""
    graph: Graph
    target: Target
    report: Report
    layers: list
    name: str
    options: Options = attrs.field(factory=Options)
    inputs: dict[str, InputContract] = attrs.field(factory=dict)   # graph input name -> its contract
    decode: dict | None = None   # what the application does after the model (a detector cut before its decoder)
    detections: DetectionEnding | None = None   # set when the model ends in detections
    boxes: BoxesEnding | None = None   # set when it ends in boxes and scores that MXNet has too
    notes: list = attrs.field(factory=list)   # how the outputs differ from the source's in form or in edge cases
    approximations: list = attrs.field(factory=list)   # chosen by an option, outside the pass report
    source: ModelSource | None = None   # what was imported
    _ncnn: object = attrs.field(default=None, init=False, repr=False)   # ncnn_files(), once translated

    @property
    def exact(self) -> bool:
        return self.report.exact and not self.approximations

    def net(self):
        """The prototxt as a NetParameter message of the target's proto."""
        from backends.writer import net_message

        return net_message(self.layers, self.target, self.name)

    def prototxt(self) -> str:
        from backends.writer import prototxt_text

        return prototxt_text(self.net())

    def weights(self):
        from backends.writer import CaffeWeights

        return CaffeWeights(self.layers, self.target, self.name)

    @property
    def input_names(self) -> list[str]:
        return [layer.tops[0] for layer in self.layers if layer.type == "Input"]

    def layer_of(self, value: Value) -> str:
        """The name of the layer whose first top carries IR value `value`."""
        return next(layer.name for layer in self.layers if layer.source == value.name)

    @property
    def output_layers(self) -> list[str]:
        """Names of the layers whose first top is each graph output, in output order."""
        by_source = {layer.source: layer.name for layer in self.layers if layer.source is not None}
        return [by_source[v.name] for v in self.graph.outputs]

    def report_json(self) -> dict:
        """PREFIX.report.json: the options, the input contract, the passes, and the notes and approximations."""
        return {**self.report.to_dict(), "target": self.target.name, "exact": self.exact,
                "options": _options_json(self.options), "inputs": [c.to_json() for c in self.inputs.values()],
                "decode": self.decode, "notes": list(self.notes), "approximations": list(self.approximations)}

    def ncnn_files(self):
        """The layers as ncnn's own .param/.bin (backends/ncnn_format.py), translated once."""
        from backends.ncnn_format import translate_emitted

        if self._ncnn is None:
            self._ncnn = translate_emitted(self.net(), self.layers)
        return self._ncnn

    def structure_text(self) -> str:
        """The text of the target's layers file: the prototxt, or ncnn's .param."""
        return self.ncnn_files().param_text() if self.target.files.ncnn else self.prototxt()

    def write_weights(self, stream) -> None:
        """Write the target's weights file (the caffemodel, or ncnn's .bin) to `stream`."""
        if self.target.files.ncnn:
            self.ncnn_files().write_bin(stream)
        else:
            self.weights().write_to(stream)

    def save(self, prefix: str) -> tuple[str, str]:
        """Write the target's two files (PREFIX.prototxt and PREFIX.caffemodel, or PREFIX.param and PREFIX.bin;
        and PREFIX.decode.json for a model cut before its decoder); returns (layers file, weights file)."""
        import json

        from backends.writer import check_size, write_atomically, write_text_atomically

        files = self.target.files
        if not files.ncnn:
            check_size(self.weights())
        text = self.structure_text()
        write_atomically(prefix, {files.weights: self.write_weights, files.structure: lambda f: f.write(text.encode())})
        if self.decode is not None:
            write_text_atomically(prefix + ".decode.json", json.dumps(self.decode, indent=2) + "\n")
        return files.paths(prefix)


def _options_json(options: Options) -> dict:
    return {field.name: (list(value) if isinstance(value, tuple) else value)
            for field in attrs.fields(Options) for value in [getattr(options, field.name)]}


def _append_softmax(graph: Graph) -> None:
    from compiler.ops import Softmax

    outputs = []
    for value in graph.outputs:
        outputs.append(graph.add(Softmax(axis=1), value, name=f"{value.name}_softmax").result)
    graph.outputs = outputs


def _compute_every_output(graph: Graph, policy) -> None:
    """An output that is a graph input (a model that reduces to the identity) gets an identity layer: a Caffe net
    made of its Input layer alone gives runtimes no layer to return. Where only unconsumed blobs are outputs
    (policy.outputs_unconsumed), an output that other ops read gets one too: ICNet's auxiliary heads feed its
    upsampling and are outputs as well."""
    from compiler.ops import Power

    for i, value in enumerate(graph.outputs):
        if value.is_input:
            graph.outputs[i] = graph.add(Power(), value, name=f"{value.name}_identity").result
        elif policy.outputs_unconsumed and value.users:
            graph.outputs[i] = graph.add(Power(), value, name=f"{value.name}_output").result


def run_passes(graph: Graph, target: str = "caffe", options: Options | None = None, extra_passes=(),
               after_pass=None):
    """Run the target's pass pipeline over an IR graph (changed in place); returns (the pass report, the pass
    context, whose `inputs` hold the input contract). `after_pass(record)` is called after each pass."""
    from backends import get_target
    from passes import PassContext, pipeline

    options = options or Options()
    chosen = get_target(target)
    ctx = PassContext(options=options, target=chosen, inputs=identity_contracts(graph))
    passes = pipeline(disable=chosen.dropped_passes + tuple(options.disable_passes), extra=extra_passes)
    if options.check_ir:   # the frontend's graph too
        graph.verify()
    if options.check_numbers:   # each pass's outputs against the frontend's (compiler/driver/pass_numbers.py)
        from compiler.driver.pass_numbers import PassNumbers

        numbers, outer = PassNumbers.start(graph, ctx, passes.names[-1] if passes.names else None), after_pass

        def after_pass(record):
            numbers.after(record)
            if outer is not None:
                outer(record)
    report = passes.run(graph, ctx, verify_each=options.check_ir, dump_dir=options.dump_ir, after_pass=after_pass)
    return report, ctx


def compile_graph(graph: Graph, target: str = "caffe", options: Options | None = None,
                  extra_passes=()) -> Compilation:
    """Run the target's pipeline over an IR graph (changed in place), check legality and emit layers."""
    options = options or Options()
    if options.softmax:
        _append_softmax(graph)
    report, ctx = run_passes(graph, target, options, extra_passes)
    return emit(graph, target, options, report, ctx)


def emit(graph: Graph, target: str, options: Options, report, ctx) -> Compilation:
    """The last step of compile_graph, after the passes: check the IR and its legality, emit the layers."""
    from backends import get_target
    from backends.emitters import emit_graph
    from backends.legality import check

    chosen = get_target(target)
    _compute_every_output(graph, chosen.policy)
    graph.verify()
    check(graph, chosen)
    compiled = Compilation(graph, chosen, report, emit_graph(graph, chosen, inplace=options.inplace), graph.name,
                           options=options, inputs={v.name: ctx.inputs[v.name] for v in graph.inputs})
    if chosen.policy.samples_apart:
        _check_ncnn_translation(compiled)
    compiled.decode = _named_decode(ctx.decode, compiled)
    compiled.detections = ctx.detections
    compiled.boxes = ctx.boxes
    return compiled


def _check_ncnn_translation(compiled: Compilation) -> None:
    """Translate the layers into ncnn's before any file exists. A layer along the batch axis, which ncnn (one sample
    at a time) has not, is refused on every target ncnn consumes; a layer the translation lacks only where ncnn's
    own files are the output (caffe2ncnn, not this translation, reads the ncnn target's). The refusal names the
    model node the layer came from."""
    from backends.ncnn_format import BatchAxisLayer, UnsupportedLayer
    from compiler.errors import IllegalForTarget

    try:
        compiled.ncnn_files()
    except UnsupportedLayer as exc:
        if not (compiled.target.files.ncnn or isinstance(exc, BatchAxisLayer)):
            return
        layer = next((layer for layer in compiled.layers if layer.name == exc.layer), None)
        op = next((op for op in compiled.graph if layer is not None and any(r.name == layer.source
                                                                              for r in op.results)), None)
        where = f"{op.origin.node} ({op.origin.op}), " if op is not None and op.origin else ""
        hint = ("ncnn computes one sample at a time: convert at batch 1, or choose a Caffe target (caffe, caffe-ssd)"
                if isinstance(exc, BatchAxisLayer) else "change the model, or choose a Caffe target (caffe, caffe-ssd)")
        raise IllegalForTarget(f"{where}cannot be expressed exactly for target '{compiled.target.name}': {exc}",
                               hint=hint) from None


def _named_decode(decode: dict | None, compiled: Compilation) -> dict | None:
    """A pass's decode description with the output values it names replaced by their layers' names."""
    if decode is None:
        return None
    layers = dict(zip((id(v) for v in compiled.graph.outputs), compiled.output_layers))
    named = dict(decode, input_shape=list(compiled.graph.inputs[0].type.shape))
    named["outputs"] = {role: layers[id(value)] for role, value in decode["outputs"].items()}
    return named


def import_model(source, input_shape=None, *, params: str | None = None, target: str = "caffe",
                 options: Options | None = None) -> Graph:
    """Build the IR from a Gluon HybridBlock (as its family prepares it for `target`), a `*-symbol.json` path (+ params
    path) or an existing Graph."""
    from backends import get_target
    return model_source(source, input_shape, get_target(target), options or Options(), params).import_graph(
        input_shape)


def compile_model(source, input_shape=None, *, target: str = "caffe", options: Options | None = None,
                  params: str | None = None, **option_fields) -> Compilation:
    """Compile a model for a Caffe target.

    Args:
        source: a Gluon HybridBlock, a path to `prefix-symbol.json`, an IR Graph, or a ModelSource.
        input_shape: (N,C,H,W), a list of shapes, or {input name: shape}.
        target: a backend name (see `backends.target_names()`).
        options: an Options; keyword fields (to_bgr=..., merge_bn=...) build one, or override its fields.
        params: the params file when `source` is a symbol file.
    Returns:
        a Compilation (graph, report, layers, input contract) whose .save(prefix) writes the files.
    Raises:
        ConversionError (or a subclass) naming the node, op and attribute at fault.
    """
    from backends import get_target

    options = attrs.evolve(options, **option_fields) if options is not None else Options(**option_fields)
    prepared = model_source(source, input_shape, get_target(target), options, params)
    graph = prepared.import_graph(input_shape)
    notes, approximations = prepared.finish(graph)
    compiled = compile_graph(graph, target, options)
    compiled.decode = prepared.decode_metadata(compiled.graph.inputs[0].type.shape,
                                               compiled.output_layers) or compiled.decode
    compiled.notes, compiled.approximations, compiled.source = notes, approximations, prepared
    return compiled


def first_shape(input_shape):
    """The (first) input's shape from any accepted input_shape form, or None."""
    from compiler.frontend import normalise_input_shapes

    return None if input_shape is None else next(iter(normalise_input_shapes(input_shape).values()), None)


def model_source(source, input_shape, target, options, params: str | None = None) -> ModelSource:
    """The source compile_model imports: `source` itself when it is one; an IR Graph; a `*-symbol.json` path (with
    `params`); or a Gluon block as its family prepares it for `target` (backends.Target) and `options`."""
    from compiler.driver.families import family_of_block
    from compiler.driver.sources import GraphSource, ModelSource, SymbolFiles

    if isinstance(source, ModelSource):
        return source
    if isinstance(source, Graph):
        return GraphSource(source)
    if isinstance(source, (str, os.PathLike)):
        return SymbolFiles(os.fspath(source), params)
    family = family_of_block(source)
    prepared = family.source(source, first_shape(input_shape), target, options)
    prepared.family = family
    return prepared
