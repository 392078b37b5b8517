"""What compile_model imports: a model source. It turns a user's model — an IR Graph, exported symbol files, or a
live Gluon block (as its family prepares it: compiler/driver/families/) — into the IR, may finish the imported
graph (a detector's ending), says what the application must still do after the model, names the Gluon block the IR
came from, and may bring its own verification. compiler.driver.api.model_source picks the source for a model."""
from __future__ import annotations

from compiler.errors import BadModel
from compiler.ir.graph import Graph


class ModelSource:
    """The defaults of a source: nothing to finish, nothing left to the application, the family's verification."""
    family = None   # the family (compiler/driver/families) that prepared it, if one did

    def import_graph(self, input_shape) -> Graph:
        raise NotImplementedError

    def finish(self, graph: Graph) -> tuple[list[str], list[str]]:
        """Change the imported graph as the target needs; returns (notes, approximations) for the report."""
        return [], []

    def decode_metadata(self, input_shape, output_layers) -> dict | None:
        """What the application must do after the converted model (PREFIX.decode.json), or None."""
        return None

    @property
    def block(self):
        """The Gluon block that was imported, whose node names the IR's MXNet references name (None for others)."""
        return None

    def verification(self):
        """The verification for this source's files: compiler/driver/verify's dispatch by default."""
        return None


class GraphSource(ModelSource):
    def __init__(self, graph: Graph):
        self.graph = graph

    def import_graph(self, input_shape) -> Graph:
        return self.graph


class SymbolFiles(ModelSource):
    """`prefix-symbol.json` and its params file, read by our readers — or by MXNet's (`mxnet_reader`: the other side
    of `gluon2caffe zoo --compare-frontends`)."""

    def __init__(self, symbol_path: str, params_path: str | None, mxnet_reader: bool = False):
        if params_path is None:
            raise BadModel(f"{symbol_path} needs its params file", hint="pass params=PREFIX-0000.params (--params)")
        self.symbol_path, self.params_path, self.mxnet_reader = symbol_path, params_path, mxnet_reader

    def import_graph(self, input_shape) -> Graph:
        from compiler import frontend

        if input_shape is None:
            raise BadModel("a symbol file needs an input shape", hint="pass input_shape=(1,3,224,224) "
                                                                      "(--input-shape 1,3,224,224)")
        return frontend.import_files(self.symbol_path, self.params_path, input_shape, mxnet_reader=self.mxnet_reader)


class BlockSource(ModelSource):
    """A Gluon HybridBlock, imported as it is (`graph_name`: the IR graph's name, the block's by default)."""

    def __init__(self, block, graph_name: str | None = None):
        self._block, self.graph_name = block, graph_name

    @property
    def block(self):
        return self._block

    def import_graph(self, input_shape) -> Graph:
        from compiler import frontend

        if input_shape is None:
            raise BadModel("a Gluon block needs an input shape", hint="pass input_shape=(1,3,224,224)")
        return frontend.import_block(self._block, input_shape, name=self.graph_name)
