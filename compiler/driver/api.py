"""The compiler API for toolchain builders: source → IR → passes → legality → Caffe files."""
from __future__ import annotations

import os

import attrs

from compiler.driver.heads import cut_decoder, decode_metadata, is_cut_model
from compiler.errors import BadModel
from compiler.ir.graph import Graph
from compiler.options import Options


@attrs.define
class Compilation:
    """A compiled model: the final IR, the pass report, and the Caffe layers ready to be written."""
    graph: Graph
    target: object
    report: object
    layers: list
    name: str
    decode: dict | None = None   # what the application does after the model (a detector cut before its decoder)
    notes: list = attrs.field(factory=list)   # how the outputs differ from the source's in form or in edge cases
    approximations: list = attrs.field(factory=list)   # chosen by an option, outside the pass report
    source: object = None        # the Gluon block imported (a detector's cut for the target), if it was one

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

    @property
    def output_layers(self) -> list[str]:
        """Names of the layers whose first top is each graph output, in output order."""
        by_source = {layer.source: layer.name for layer in self.layers if layer.source is not None}
        return [by_source[v.name] for v in self.graph.outputs]

    def save(self, prefix: str) -> tuple[str, str]:
        """Write PREFIX.prototxt and PREFIX.caffemodel (and PREFIX.decode.json for a model cut before its
        decoder)."""
        import json

        from backends.writer import write_files, write_text_atomically

        written = write_files(prefix, self.prototxt(), self.weights())
        if self.decode is not None:
            write_text_atomically(prefix + ".decode.json", json.dumps(self.decode, indent=2) + "\n")
        return written


def _append_softmax(graph: Graph) -> None:
    from compiler.ops import Softmax

    outputs = []
    for value in graph.outputs:
        outputs.append(graph.add(Softmax(axis=1), value, name=f"{value.name}_softmax").result)
    graph.outputs = outputs


def _compute_every_output(graph: Graph) -> None:
    """An output that is a graph input (a model that reduces to the identity) gets an identity layer: a Caffe net
    made of its Input layer alone gives runtimes no layer to return."""
    from compiler.ops import Power

    for i, value in enumerate(graph.outputs):
        if value.is_input:
            graph.outputs[i] = graph.add(Power(), value, name=f"{value.name}_identity").result


def run_passes(graph: Graph, target: str = "caffe", options: Options | None = None, extra_passes=(),
               after_pass=None):
    """Run the target's pass pipeline over an IR graph (changed in place); returns the pass report.
    `after_pass(record)` is called after each pass."""
    from backends import get_target
    from passes import PassContext, pipeline

    options = options or Options()
    chosen = get_target(target)
    ctx = PassContext(options=options, target=chosen)
    return pipeline(disable=chosen.dropped_passes + tuple(options.disable_passes), extra=extra_passes).run(
        graph, ctx, verify_each=options.check_ir, dump_dir=options.dump_ir, after_pass=after_pass)


def compile_graph(graph: Graph, target: str = "caffe", options: Options | None = None,
                  extra_passes=()) -> Compilation:
    """Run the target's pipeline over an IR graph (changed in place), check legality and emit layers."""
    options = options or Options()
    if options.softmax:
        _append_softmax(graph)
    return emit(graph, target, options, run_passes(graph, target, options, extra_passes))


def emit(graph: Graph, target: str, options: Options, report) -> Compilation:
    """The last step of compile_graph, after the passes: check the IR and its legality, emit the layers."""
    from backends import get_target
    from backends.emitters import emit_graph
    from backends.legality import check

    chosen = get_target(target)
    _compute_every_output(graph)
    graph.verify()
    check(graph, chosen)
    compiled = Compilation(graph, chosen, report, emit_graph(graph, chosen, inplace=options.inplace), graph.name)
    compiled.decode = _named_decode(report.decode, compiled)
    return compiled


def _named_decode(decode: dict | None, compiled: Compilation) -> dict | None:
    """A pass's decode description with the output values it names replaced by their layers' names."""
    if decode is None:
        return None
    layers = dict(zip((id(v) for v in compiled.graph.outputs), compiled.output_layers))
    named = dict(decode, input_shape=list(compiled.graph.inputs[0].type.shape))
    named["outputs"] = {role: layers[id(value)] for role, value in decode["outputs"].items()}
    return named


def _first_shape(input_shape):
    """The (first) input's shape from any accepted input_shape form, or None."""
    from compiler.frontend import normalise_input_shapes

    return None if input_shape is None else next(iter(normalise_input_shapes(input_shape).values()), None)


def import_model(source, input_shape=None, *, params: str | None = None) -> Graph:
    """Build the IR from a Gluon HybridBlock, a `*-symbol.json` path (+ params path) or an existing Graph."""
    from compiler import frontend

    if isinstance(source, Graph):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if params is None:
            raise BadModel(f"{path} needs its params file", hint="pass params=PREFIX-0000.params (--params)")
        if input_shape is None:
            raise BadModel("a symbol file needs an input shape", hint="pass input_shape=(1,3,224,224) "
                                                                      "(--input-shape 1,3,224,224)")
        return frontend.import_files(path, params, input_shape)
    if input_shape is None:
        raise BadModel("a Gluon block needs an input shape", hint="pass input_shape=(1,3,224,224)")
    return frontend.import_block(cut_decoder(source, _first_shape(input_shape)), input_shape)


def compile_model(source, input_shape=None, *, target: str = "caffe", options: Options | None = None,
                  params: str | None = None, **option_fields) -> Compilation:
    """Compile a model for a Caffe target.

    Args:
        source: a Gluon HybridBlock, a path to `prefix-symbol.json`, or an IR Graph.
        input_shape: (N,C,H,W), a list of shapes, or {input name: shape}.
        target: a backend name (see `backends.target_names()`).
        options: an Options; keyword fields (to_bgr=..., merge_bn=...) build one, or override its fields.
        params: the params file when `source` is a symbol file.
    Returns:
        a Compilation (graph, report, layers) whose .save(prefix) writes the files.
    Raises:
        ConversionError (or a subclass) naming the node, op and attribute at fault.
    """
    from backends import get_target

    options = attrs.evolve(options, **option_fields) if options is not None else Options(**option_fields)
    is_block = not isinstance(source, (Graph, str, os.PathLike))
    if is_block:
        source = cut_decoder(source, _first_shape(input_shape), get_target(target), options)
    graph = import_model(source, input_shape, params=params)
    notes, approximations = source.finish_graph(graph) if is_cut_model(source) else ([], [])
    compiled = compile_graph(graph, target, options)
    compiled.decode = decode_metadata(source, compiled) or compiled.decode
    compiled.notes, compiled.approximations = notes, approximations
    if is_block:
        compiled.source = source
    return compiled
