"""MXNet's symbol JSON of every vintage, read without MXNet into one canonical form (docs/mxnet.md#symbol-json).

A symbol file lists nodes (`op`, `name`, `inputs` as [node, output(, version)] entries, attributes) and `heads`, the
graph outputs. Files changed over MXNet's life; MXNet upgrades old ones when it loads them, and so does this reader:

- attributes: `attrs` since 1.2, `attr` in 0.9–1.1, `param` (the op's own) plus `attr` (the user's) before 0.9. They
  are merged in the order the file gives them, a later key replacing an earlier one, as MXNet's loader does.
- hidden keys: training-only settings (`lr_mult`, `ctx_group`, …, or `weight_lr_mult` naming an input) carry no
  inference meaning; they are dropped, as are MXNet's own `__x__` keys (`__shape__`, `__init__`, …).
- aux inputs: before 0.9 a BatchNorm's moving statistics were no nodes; they become variables named
  `<node>_moving_mean`/`<node>_moving_var`, the names MXNet gives them and its params files use.
- argmax/argmin written before 0.9.5 said "all axes" with axis -1.
- op names: aliases (`ElementWiseSum`, `reshape`, `_Plus`) become MXNet's registered names.

The nodes are then put in the order MXNet's own serialiser writes them (depth first from the heads, inputs in
order), which drops nodes no output depends on. Structural damage is a BadModel naming the node."""
from __future__ import annotations

import json

import attrs

from compiler.errors import BadModel

# MXNet 1.9.1's alias → registered name, for every name this converter lowers or refuses (checked against MXNet's
# op registry by tests/frontend/test_document.py).
MXNET_ALIASES = {
    "ElementWiseSum": "add_n", "Softmax": "SoftmaxOutput", "_Div": "elemwise_div", "_Maximum": "_maximum",
    "_MaximumScalar": "_maximum_scalar", "_Minimum": "_minimum", "_MinimumScalar": "_minimum_scalar",
    "_Minus": "elemwise_sub", "_Mul": "elemwise_mul", "_Plus": "elemwise_add", "_RPowerScalar": "_rpower_scalar",
    "_contrib_box_non_maximum_suppression": "_contrib_box_nms", "_div": "elemwise_div", "_minus": "elemwise_sub",
    "_mul": "elemwise_mul", "_plus": "elemwise_add", "broadcast_axes": "broadcast_axis",
    "broadcast_minus": "broadcast_sub", "broadcast_plus": "broadcast_add", "concat": "Concat", "crop": "slice",
    "flatten": "Flatten", "identity": "_copy", "max_axis": "max", "min_axis": "min", "pad": "Pad",
    "reshape": "Reshape", "split": "SliceChannel", "stop_gradient": "BlockGrad", "sum_axis": "sum",
    "swapaxes": "SwapAxis",
}
# Training settings MXNet hides: a key equal to one, or ending in `_<key>` (an input's setting), or `__<key>__`.
HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage", "profiler_scope")
_HIDDEN_SUFFIXES = tuple("_" + key for key in HIDDEN_KEYS)
# Inputs that files before MXNet 0.9 did not store: the aux states, after the op's arguments.
LEGACY_AUX_INPUTS = {name: ("moving_mean", "moving_var")
                     for name in ("BatchNorm", "BatchNorm_v1", "CuDNNBatchNorm", "_contrib_SyncBatchNorm")}
ARGUMENT_COUNT = {"BatchNorm": 3, "BatchNorm_v1": 3, "CuDNNBatchNorm": 3, "_contrib_SyncBatchNorm": 3}
ATTRIBUTE_FIELDS = ("attrs", "attr", "param")
VERSION_AUX_STORED, VERSION_OPTIONAL_AXIS, DEFAULT_VERSION = 900, 905, 800


@attrs.frozen
class SymbolNode:
    """One node: a variable (op "null") or an operator, its attributes as MXNet strings, its operand entries."""
    name: str
    op: str
    # op "null"; kept, not computed: it is read for every operand entry (declared before the field named attrs)
    is_variable: bool = attrs.field(init=False, eq=False, repr=False)
    attrs: dict = attrs.field(eq=True, hash=False)
    inputs: tuple[tuple[int, int], ...] = ()   # (node index, output index), to earlier nodes only

    def __attrs_post_init__(self):
        object.__setattr__(self, "is_variable", self.op == "null")


@attrs.frozen
class SymbolDocument:
    """A symbol in MXNet's canonical form: nodes in serialisation order and the output entries."""
    nodes: tuple[SymbolNode, ...]
    heads: tuple[tuple[int, int], ...]
    version: int = attrs.field(default=DEFAULT_VERSION, eq=False)   # of the MXNet that wrote it (10901: 1.9.1)

    def input_names(self) -> list[str]:
        """Every variable name, in node order, once (MXNet binds variables by name)."""
        return list(dict.fromkeys(node.name for node in self.nodes if node.is_variable))

    def label_variables(self, training_only) -> set[str]:
        """Variables that feed nothing but the training-only operands of a loss head (SoftmaxOutput's label):
        `training_only(op)` gives an op's such operand positions."""
        labels, read = set(), set()
        for node in self.nodes:
            skipped = training_only(node.op) if not node.is_variable else ()
            for position, (source, _) in enumerate(node.inputs):
                producer = self.nodes[source]
                if producer.is_variable:
                    (labels if position in skipped else read).add(producer.name)
        return labels - read

    def to_json(self) -> str:
        """The document as MXNet-readable JSON (current format)."""
        nodes = [{"op": n.op, "name": n.name, **({"attrs": dict(n.attrs)} if n.attrs else {}),
                  "inputs": [[i, o, 0] for i, o in n.inputs]} for n in self.nodes]
        return json.dumps({"nodes": nodes, "arg_nodes": [i for i, n in enumerate(self.nodes) if n.is_variable],
                           "heads": [[i, o, 0] for i, o in self.heads],
                           "attrs": {"mxnet_version": ["int", 10901]}})


def parse_symbol_json(text: str, source: str = "symbol JSON") -> SymbolDocument:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadModel(f"{source} is not valid JSON: {exc}", hint="pass the *-symbol.json written by export()")
    except RecursionError:
        raise BadModel(f"{source} nests too deeply to be a symbol file") from None
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list) or "heads" not in document:
        raise BadModel(f"{source} is JSON but not an MXNet symbol (no 'nodes'/'heads')",
                       hint="pass the *-symbol.json written by HybridBlock.export()")
    version = _version(document, source)
    raw = [_raw_node(node, index, len(document["nodes"]), source) for index, node in enumerate(document["nodes"])]
    heads = _heads(document["heads"], len(raw), source)
    return _canonical(raw, heads, version)


def _version(document: dict, source: str) -> int:
    graph_attrs = document.get("attrs") or {}
    entry = graph_attrs.get("mxnet_version") if isinstance(graph_attrs, dict) else None
    if entry is None:
        return DEFAULT_VERSION
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], int)):
        raise BadModel(f"{source}: attribute mxnet_version is {entry!r}, not [\"int\", N]")
    return entry[1]


def _raw_node(node, index: int, count: int, source: str) -> SymbolNode:
    """A node as the file has it (inputs by file index), checked; _canonical upgrades and orders them."""
    if type(node) is not dict:
        raise BadModel(f"{source}: node {index} lacks 'op' or 'name'")
    name, op = node.get("name"), node.get("op")
    if type(name) is not str or type(op) is not str:
        raise BadModel(f"{source}: node {index} lacks 'op' or 'name'")
    merged: dict[str, str] = {}
    for key in _attribute_fields(node):   # the file's order: a later field's key replaces an earlier one
        value = node[key]
        if value is None:
            continue
        if type(value) is not dict:
            raise BadModel(f"'{key}' is not an object", node=name, op=op)
        for attribute, text in value.items():
            if type(text) is not str:
                raise BadModel(f"value {text!r} is not a string", node=name, op=op, attribute=attribute,
                               hint="MXNet writes every attribute as a string; fix the symbol file")
        merged.update(value)
    entries = node.get("inputs", ())
    if not entries:
        if type(entries) not in (list, tuple):
            raise BadModel(f"{source}: 'inputs' is not a list", node=name, op=op)
        return SymbolNode(name, MXNET_ALIASES.get(op, op), merged)
    if type(entries) is not list:
        raise BadModel(f"{source}: 'inputs' is not a list", node=name, op=op)
    inputs = []
    for entry in entries:
        if not _is_entry(entry):
            raise BadModel(f"{source}: malformed input entry {entry!r}", node=name, op=op)
        producer = entry[0]
        if not 0 <= producer < index:
            if not 0 <= producer < count:
                raise BadModel(f"input refers to node {producer}, which does not exist", node=name, op=op,
                               hint="the symbol file is corrupt or was edited by hand")
            raise BadModel(f"input refers to node {producer}, which is not earlier in the list (a cycle or an "
                           "unsorted graph)", node=name, op=op, hint="the symbol file is corrupt or was edited by hand")
        output = entry[1] if len(entry) > 1 else 0
        if output < 0:
            raise BadModel(f"{source}: input entry {entry!r} names output {output}", node=name, op=op)
        inputs.append((producer, output))
    if op == "null":
        raise BadModel("a variable has inputs", node=name, op=op, hint="the symbol file is corrupt")
    return SymbolNode(name, MXNET_ALIASES.get(op, op), merged, tuple(inputs))


def _attribute_fields(node: dict) -> list[str]:
    """The attribute fields a node has, in the file's order (what matters only when it has several)."""
    present = [key for key in ATTRIBUTE_FIELDS if key in node]
    return present if len(present) < 2 else [key for key in node if key in ATTRIBUTE_FIELDS]


def _is_entry(entry) -> bool:
    """[node, output, version] with the last two optional, all integers (written out: this runs for every edge)."""
    if type(entry) is not list:
        return False
    size = len(entry)
    if size == 3:
        return type(entry[0]) is int and type(entry[1]) is int and type(entry[2]) is int
    return (size == 2 and type(entry[0]) is int and type(entry[1]) is int) or (size == 1 and type(entry[0]) is int)


def _heads(heads, count: int, source: str) -> list[tuple[int, int]]:
    if not isinstance(heads, list) or not heads:
        raise BadModel(f"{source}: 'heads' lists no outputs")
    found = []
    for head in heads:
        if not (_is_entry(head) and 0 <= head[0] < count and (len(head) == 1 or head[1] >= 0)):
            raise BadModel(f"{source}: output entry {head!r} refers to no node")
        found.append((head[0], head[1] if len(head) > 1 else 0))
    return found


def _is_hidden(key: str) -> bool:
    return key.startswith("__") or key in HIDDEN_KEYS or key.endswith(_HIDDEN_SUFFIXES)


def _upgrade(raw: list[SymbolNode], index: int, version: int) -> None:
    """What MXNet's loader changes in node `index` of an older file (replaced in `raw`); new variables are appended."""
    node = raw[index]
    if version >= VERSION_OPTIONAL_AXIS and not node.attrs:
        return   # nothing of a current file's attribute-less node changes (most of its variables)
    if any(_is_hidden(k) for k in node.attrs):
        node = attrs.evolve(node, attrs={k: v for k, v in node.attrs.items() if not _is_hidden(k)})
    if node.op != "null":
        if version < VERSION_OPTIONAL_AXIS and node.op in ("argmax", "argmin") and node.attrs.get("axis") == "-1":
            node = attrs.evolve(node, attrs={k: v for k, v in node.attrs.items() if k != "axis"})
        roles = LEGACY_AUX_INPUTS.get(node.op)
        if version < VERSION_AUX_STORED and roles and len(node.inputs) == ARGUMENT_COUNT[node.op]:
            # MXNet gives the new variables the node's attributes; they mean nothing on a variable.
            added = []
            for role in roles:
                raw.append(SymbolNode(f"{node.name}_{role}", "null", dict(node.attrs)))
                added.append((len(raw) - 1, 0))
            node = attrs.evolve(node, inputs=node.inputs + tuple(added))
    raw[index] = node


def _canonical(raw: list[SymbolNode], heads: list[tuple[int, int]], version: int) -> SymbolDocument:
    for index in range(len(raw)):   # not the variables _upgrade appends
        _upgrade(raw, index, version)
    # Depth first from each head, inputs in order, each node after its inputs: MXNet's serialisation order.
    # position[i] is raw node i's place in the output (−1: not placed yet); nodes no head reaches are dropped.
    position = [-1] * len(raw)
    order: list[int] = []
    expanded = [False] * len(raw)
    for head, _ in heads:
        stack = [head]
        while stack:
            node = stack[-1]
            if position[node] >= 0:   # placed through another consumer meanwhile
                stack.pop()
            elif expanded[node]:   # every input placed: place the node
                stack.pop()
                position[node] = len(order)
                order.append(node)
            else:   # inputs pushed in reverse, so the first is visited first, its whole subgraph before the next
                expanded[node] = True
                stack.extend(source for source, _ in reversed(raw[node].inputs) if position[source] < 0)
    if order == list(range(len(raw))):   # the file is in MXNet's order already (what MXNet writes): no renumbering
        return SymbolDocument(tuple(raw), tuple(heads), version)
    nodes = tuple(SymbolNode(raw[i].name, raw[i].op, raw[i].attrs,
                             tuple((position[source], output) for source, output in raw[i].inputs)) for i in order)
    return SymbolDocument(nodes, tuple((position[h], o) for h, o in heads), version)
