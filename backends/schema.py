"""The one schema source for every Caffe dialect we write: each message, field and layer type once, tagged with the
dialects that have it. The protobuf classes of a dialect are built from it at import time (no protoc, no generated
files), so a new parameter field, message or layer type is one edit here; `python -m backends.schema DIALECT`
prints a dialect as .proto text.

Names, numbers, types and defaults are the consumers' own (docs/caffe.md#schema): BVLC Caffe 1.0 for `caffe`,
weiliu89/caffe's ssd branch for `caffe-ssd`, the caffe.proto of ncnn's caffe2ncnn for `ncnn`. A dialect contains
only what that consumer parses, and the writer can set nothing else, so every prototxt we write parses strictly
in its consumer.
"""
from __future__ import annotations

import sys

import attrs
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CAFFE, SSD, NCNN, NCNN_NATIVE, RKNN = "caffe", "caffe-ssd", "ncnn", "ncnn-native", "rknn"
DIALECTS = (CAFFE, SSD, NCNN, NCNN_NATIVE, RKNN)
EVERY = frozenset(DIALECTS)
# The ncnn-native dialect is the layers the ncnn-native target emits before backends/ncnn_format.py translates them
# into ncnn's own: the ncnn dialect, plus ncnn layers that no Caffe has (never written as a prototxt for a consumer).
NCNN_BOTH = frozenset({NCNN, NCNN_NATIVE})
WITH_SSD_LAYERS = frozenset({SSD}) | NCNN_BOTH   # caffe2ncnn's caffe.proto carries the ssd branch's layers, numbers
# rknn-toolkit2 2.5.0 parses BVLC Caffe's caffe.proto but logs ELU and Exp as "not support", drops them and passes
# their input through (docs/rknn.md#what-the-toolkit-drops): its dialect is BVLC Caffe without them.
EXCEPT_RKNN = EVERY - {RKNN}


@attrs.frozen
class Field:
    name: str
    number: int
    type: str                    # a scalar type, or a message or enum name (Message.Enum for another's enum)
    repeated: bool = False
    default: object = None
    packed: bool = False
    dialects: frozenset = EVERY


@attrs.frozen
class Message:
    name: str
    fields: tuple[Field, ...]
    enums: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (enum name, value names numbered from `first`)
    enum_first: int = 0


def opt(name, number, type_, default=None, dialects=EVERY) -> Field:
    return Field(name, number, type_, default=default, dialects=dialects)


def rep(name, number, type_, packed=False, dialects=EVERY) -> Field:
    return Field(name, number, type_, repeated=True, packed=packed, dialects=dialects)


CORE = (
    Message("BlobShape", (rep("dim", 1, "int64", packed=True),)),
    # num/channels/height/width: the legacy 4-D shape, written for 0-axis blobs only (see backends/writer.py)
    Message("BlobProto", (opt("shape", 7, "BlobShape"), rep("data", 5, "float", packed=True),
                          opt("num", 1, "int32", 0), opt("channels", 2, "int32", 0), opt("height", 3, "int32", 0),
                          opt("width", 4, "int32", 0))),
    Message("NetParameter", (opt("name", 1, "string"), rep("layer", 100, "LayerParameter"))),
)
LAYER_COMMON = (opt("name", 1, "string"), opt("type", 2, "string"), rep("bottom", 3, "string"),
                rep("top", 4, "string"), rep("blobs", 7, "BlobProto"))

# Parameter messages. Enum values are numbered from 0 unless the message says otherwise.
PARAMS = (
    Message("InputParameter", (rep("shape", 1, "BlobShape"),)),
    Message("ConcatParameter", (opt("axis", 2, "int32", 1),)),
    Message("ConvolutionParameter", (
        opt("num_output", 1, "uint32"), opt("bias_term", 2, "bool", True), rep("pad", 3, "uint32"),
        rep("kernel_size", 4, "uint32"), rep("stride", 6, "uint32"), rep("dilation", 18, "uint32"),
        opt("pad_h", 9, "uint32", 0), opt("pad_w", 10, "uint32", 0), opt("kernel_h", 11, "uint32"),
        opt("kernel_w", 12, "uint32"), opt("stride_h", 13, "uint32"), opt("stride_w", 14, "uint32"),
        opt("group", 5, "uint32", 1), opt("axis", 16, "int32", 1))),
    Message("EltwiseParameter", (opt("operation", 1, "EltwiseOp", "SUM"), rep("coeff", 2, "float")),
            enums=(("EltwiseOp", ("PROD", "SUM", "MAX")),)),
    Message("InnerProductParameter", (
        opt("num_output", 1, "uint32"), opt("bias_term", 2, "bool", True), opt("axis", 5, "int32", 1),
        opt("transpose", 6, "bool", False))),
    Message("PoolingParameter", (
        opt("pool", 1, "PoolMethod", "MAX"), opt("pad", 4, "uint32", 0), opt("pad_h", 9, "uint32", 0),
        opt("pad_w", 10, "uint32", 0), opt("kernel_size", 2, "uint32"), opt("kernel_h", 5, "uint32"),
        opt("kernel_w", 6, "uint32"), opt("stride", 3, "uint32", 1), opt("stride_h", 7, "uint32"),
        opt("stride_w", 8, "uint32"), opt("global_pooling", 12, "bool", False)),
            enums=(("PoolMethod", ("MAX", "AVE", "STOCHASTIC")),)),
    Message("PowerParameter", (opt("power", 1, "float", 1.0), opt("scale", 2, "float", 1.0),
                               opt("shift", 3, "float", 0.0))),
    Message("ReLUParameter", (opt("negative_slope", 1, "float", 0.0),)),
    Message("LRNParameter", (opt("local_size", 1, "uint32", 5), opt("alpha", 2, "float", 1.0),
                             opt("beta", 3, "float", 0.75), opt("norm_region", 4, "NormRegion", "ACROSS_CHANNELS"),
                             opt("k", 5, "float", 1.0)),
            enums=(("NormRegion", ("ACROSS_CHANNELS", "WITHIN_CHANNEL")),)),
    Message("ExpParameter", (opt("base", 1, "float", -1.0), opt("scale", 2, "float", 1.0),
                             opt("shift", 3, "float", 0.0))),
    Message("SoftmaxParameter", (opt("axis", 2, "int32", 1),)),
    Message("SliceParameter", (opt("axis", 3, "int32", 1), rep("slice_point", 2, "uint32"))),
    Message("PReLUParameter", (opt("channel_shared", 2, "bool", False),)),
    Message("ReshapeParameter", (opt("shape", 1, "BlobShape"), opt("axis", 2, "int32", 0),
                                 opt("num_axes", 3, "int32", -1))),
    Message("FlattenParameter", (opt("axis", 1, "int32", 1), opt("end_axis", 2, "int32", -1))),
    Message("BatchNormParameter", (opt("use_global_stats", 1, "bool"),
                                   opt("moving_average_fraction", 2, "float", 0.999), opt("eps", 3, "float", 1e-5))),
    Message("ELUParameter", (opt("alpha", 1, "float", 1.0),)),
    Message("ScaleParameter", (opt("axis", 1, "int32", 1), opt("num_axes", 2, "int32", 1),
                               opt("bias_term", 4, "bool", False))),
    Message("PermuteParameter", (rep("order", 1, "uint32"),)),
    Message("PriorBoxParameter", (
        rep("min_size", 1, "float"), rep("max_size", 2, "float"), rep("aspect_ratio", 3, "float"),
        opt("flip", 4, "bool", True), opt("clip", 5, "bool", False), rep("variance", 6, "float"),
        opt("img_size", 7, "uint32"), opt("img_h", 8, "uint32"), opt("img_w", 9, "uint32"),
        opt("step", 10, "float"), opt("step_h", 11, "float"), opt("step_w", 12, "float"),
        opt("offset", 13, "float", 0.5)),
            enums=(("CodeType", ("CORNER", "CENTER_SIZE", "CORNER_SIZE")),), enum_first=1),
    Message("NonMaximumSuppressionParameter", (opt("nms_threshold", 1, "float", 0.3), opt("top_k", 2, "int32"),
                                               opt("eta", 3, "float", 1.0))),
    Message("DetectionOutputParameter", (
        opt("num_classes", 1, "uint32"), opt("share_location", 2, "bool", True),
        opt("background_label_id", 3, "int32", 0), opt("nms_param", 4, "NonMaximumSuppressionParameter"),
        opt("code_type", 6, "PriorBoxParameter.CodeType", "CORNER"), opt("keep_top_k", 7, "int32", -1),
        opt("variance_encoded_in_target", 8, "bool", False), opt("confidence_threshold", 9, "float"))),
    Message("NormalizeParameter", (opt("across_spatial", 1, "bool", True), opt("channel_shared", 3, "bool", True),
                                   opt("eps", 4, "float", 1e-10))),
    # The ncnn-native dialect's Interp: the sizes as caffe2ncnn's message numbers them, and align_corners, which
    # ncnn's Interp has (its param 6) and caffe2ncnn's message lacks.
    Message("InterpParameter", (opt("height", 1, "int32", 0), opt("width", 2, "int32", 0),
                                opt("align_corners", 7, "bool", False))),
    Message("ShuffleChannelParameter", (opt("group", 1, "uint32", 1),)),   # caffe2ncnn's (ShuffleNet)
    # BVLC Caffe's later ClipParameter (after 1.0; the ncnn-native dialect's Clip, ncnn's own layer)
    Message("ClipParameter", (opt("min", 1, "float"), opt("max", 2, "float"))),
    # ncnn's HardSigmoid and HardSwish (y = clip(alpha·x + beta, 0, 1), times x for HardSwish); no Caffe has them,
    # so the message and its LayerParameter field number are ours (the ncnn-native dialect is never a prototxt).
    Message("HardSigmoidParameter", (opt("alpha", 1, "float", 0.2), opt("beta", 2, "float", 0.5))),
    Message("Yolov3DetectionOutputParameter", (
        opt("num_classes", 1, "uint32", 20), opt("num_box", 2, "uint32", 3), opt("confidence_threshold", 3, "float", 0.01),
        opt("nms_threshold", 4, "float", 0.45), rep("biases", 5, "float"), rep("anchors_scale", 6, "uint32"),
        opt("mask_group_num", 7, "uint32", 2), rep("mask", 8, "uint32"))),
)


@attrs.frozen
class LayerParam:
    field: str                   # the LayerParameter field
    number: int
    message: str


LAYER_PARAMS = {p.field: p for p in (
    LayerParam("concat_param", 104, "ConcatParameter"), LayerParam("convolution_param", 106, "ConvolutionParameter"),
    LayerParam("eltwise_param", 110, "EltwiseParameter"), LayerParam("exp_param", 111, "ExpParameter"),
    LayerParam("inner_product_param", 117, "InnerProductParameter"), LayerParam("lrn_param", 118, "LRNParameter"),
    LayerParam("pooling_param", 121, "PoolingParameter"), LayerParam("power_param", 122, "PowerParameter"),
    LayerParam("relu_param", 123, "ReLUParameter"), LayerParam("softmax_param", 125, "SoftmaxParameter"),
    LayerParam("slice_param", 126, "SliceParameter"), LayerParam("prelu_param", 131, "PReLUParameter"),
    LayerParam("reshape_param", 133, "ReshapeParameter"), LayerParam("flatten_param", 135, "FlattenParameter"),
    LayerParam("batch_norm_param", 139, "BatchNormParameter"), LayerParam("elu_param", 140, "ELUParameter"),
    LayerParam("scale_param", 142, "ScaleParameter"), LayerParam("input_param", 143, "InputParameter"),
    LayerParam("shuffle_channel_param", 145, "ShuffleChannelParameter"), LayerParam("clip_param", 148, "ClipParameter"),
    LayerParam("permute_param", 202, "PermuteParameter"), LayerParam("prior_box_param", 203, "PriorBoxParameter"),
    LayerParam("detection_output_param", 204, "DetectionOutputParameter"),
    LayerParam("interp_param", 205, "InterpParameter"), LayerParam("norm_param", 206, "NormalizeParameter"),
    LayerParam("yolov3_detection_output_param", 603, "Yolov3DetectionOutputParameter"),
    LayerParam("hard_sigmoid_param", 2001, "HardSigmoidParameter"),
)}

# Every layer type a dialect runs, with the LayerParameter field of its parameters (None: it takes none).
LAYERS: dict[str, tuple[str | None, frozenset]] = {
    "Input": ("input_param", EVERY), "Convolution": ("convolution_param", EVERY),
    "Deconvolution": ("convolution_param", EVERY), "InnerProduct": ("inner_product_param", EVERY),
    "Pooling": ("pooling_param", EVERY), "BatchNorm": ("batch_norm_param", EVERY), "Scale": ("scale_param", EVERY),
    "ReLU": ("relu_param", EVERY), "PReLU": ("prelu_param", EVERY), "ELU": ("elu_param", EXCEPT_RKNN),
    "Sigmoid": (None, EVERY), "TanH": (None, EVERY), "BNLL": (None, EVERY), "AbsVal": (None, EVERY),
    "Exp": ("exp_param", EXCEPT_RKNN), "Log": (None, EVERY), "LRN": ("lrn_param", EVERY),
    "Power": ("power_param", EVERY), "Softmax": ("softmax_param", EVERY), "Eltwise": ("eltwise_param", EVERY),
    "Flatten": ("flatten_param", EVERY), "Reshape": ("reshape_param", EVERY), "Concat": ("concat_param", EVERY),
    "Slice": ("slice_param", EVERY), "Silence": (None, EXCEPT_RKNN), "Split": (None, EVERY),
    "Permute": ("permute_param", WITH_SSD_LAYERS | {RKNN}), "PriorBox": ("prior_box_param", WITH_SSD_LAYERS),
    "DetectionOutput": ("detection_output_param", WITH_SSD_LAYERS), "Normalize": ("norm_param", WITH_SSD_LAYERS),
    "ReLU6": (None, NCNN_BOTH),
    "Yolov3DetectionOutput": ("yolov3_detection_output_param", NCNN_BOTH),
    "MatMul": (None, frozenset({NCNN_NATIVE})),   # ncnn's: a matrix product of two blobs, per sample
    # ncnn's modulated deformable convolution (bottoms: data, offset, mask), its geometry as a Convolution's
    "DeformableConv2D": ("convolution_param", frozenset({NCNN_NATIVE})),
    # ncnn's bilinear resize to a size, corners aligned or not (the `ncnn` dialect lacks it: OpenCV reads a Caffe
    # Interp with corners aligned, caffe2ncnn writes it without)
    "Interp": ("interp_param", frozenset({NCNN_NATIVE})),
    "Clip": ("clip_param", frozenset({NCNN_NATIVE})),
    "ShuffleChannel": ("shuffle_channel_param", frozenset({NCNN_NATIVE})),
    "HardSigmoid": ("hard_sigmoid_param", frozenset({NCNN_NATIVE})),
    "HardSwish": ("hard_sigmoid_param", frozenset({NCNN_NATIVE})),
}

_SCALARS = {"int64": "TYPE_INT64", "uint32": "TYPE_UINT32", "int32": "TYPE_INT32", "float": "TYPE_FLOAT",
            "bool": "TYPE_BOOL", "string": "TYPE_STRING"}


def layers_of(dialect: str) -> frozenset[str]:
    return frozenset(t for t, (_, dialects) in LAYERS.items() if dialect in dialects)


def _param_fields(dialect: str) -> list[LayerParam]:
    used = {param for t, (param, dialects) in LAYERS.items() if param and dialect in dialects}
    return sorted((LAYER_PARAMS[p] for p in used), key=lambda p: p.number)


def _messages(dialect: str) -> list[tuple[Message, tuple[Field, ...]]]:
    """The dialect's messages with its fields, LayerParameter included; only messages some field reaches."""
    layer = Message("LayerParameter", LAYER_COMMON + tuple(
        Field(p.field, p.number, p.message, dialects=EVERY) for p in _param_fields(dialect)))
    every = {m.name: m for m in CORE + PARAMS + (layer,)}
    reached, queue = [], ["NetParameter"]
    while queue:
        message = every[queue.pop(0)]
        if message in reached:
            continue
        reached.append(message)
        for f in message.fields:
            target = f.type.split(".")[0]
            if dialect in f.dialects and target in every:
                queue.append(target)
    return [(m, tuple(f for f in m.fields if dialect in f.dialects)) for m in reached]


def _enum_owner(messages, type_name: str, inside: Message) -> str | None:
    """The full name of enum `type_name` seen from message `inside`, or None when it is no enum."""
    owner_name, _, enum_name = type_name.rpartition(".")
    owner = inside if not owner_name else next((m for m, _ in messages if m.name == owner_name), None)
    if owner is not None and any(name == enum_name for name, _ in owner.enums):
        return f"{owner.name}.{enum_name}"
    return None


def file_descriptor(dialect: str) -> descriptor_pb2.FileDescriptorProto:
    package = "gluon2caffe." + dialect.replace("-", "_")
    file = descriptor_pb2.FileDescriptorProto(name=f"gluon2caffe_{dialect.replace('-', '_')}.proto",
                                              package=package, syntax="proto2")
    messages = _messages(dialect)
    names = {m.name for m, _ in messages}
    for message, fields in messages:
        proto = file.message_type.add(name=message.name)
        for enum_name, values in message.enums:
            enum = proto.enum_type.add(name=enum_name)
            for i, value in enumerate(values):
                enum.value.add(name=value, number=message.enum_first + i)
        for f in fields:
            field = proto.field.add(name=f.name, number=f.number, label=descriptor_pb2.FieldDescriptorProto.Label.Value(
                "LABEL_REPEATED" if f.repeated else "LABEL_OPTIONAL"))
            FieldType = descriptor_pb2.FieldDescriptorProto.Type
            if f.type in _SCALARS:
                field.type = FieldType.Value(_SCALARS[f.type])
            elif _enum_owner(messages, f.type, message):
                field.type = FieldType.Value("TYPE_ENUM")
                field.type_name = f".{package}.{_enum_owner(messages, f.type, message)}"
            elif f.type in names:
                field.type = FieldType.Value("TYPE_MESSAGE")
                field.type_name = f".{package}.{f.type}"
            else:
                raise TypeError(f"{message.name}.{f.name}: unknown type {f.type!r} in dialect {dialect}")
            if f.default is not None:
                field.default_value = (str(f.default).lower() if isinstance(f.default, bool) else
                                       f"{float(f.default):g}" if f.type == "float" else str(f.default))
            if f.packed:
                field.options.packed = True
    return file


class Dialect:
    """One consumer's schema: its protobuf message classes as attributes (`.NetParameter`, `.PoolingParameter`, …),
    and the layer types it runs."""

    def __init__(self, name: str):
        self.name = name
        self.layers = layers_of(name)
        proto = file_descriptor(name)
        pool = descriptor_pool.DescriptorPool()
        self.DESCRIPTOR = pool.Add(proto)
        for message in proto.message_type:
            descriptor = pool.FindMessageTypeByName(f"{proto.package}.{message.name}")
            setattr(self, message.name, message_factory.GetMessageClass(descriptor))
        self._proto = proto

    def proto_text(self) -> str:
        """The dialect as .proto source, for people and for protoc."""
        lines = [f"// gluon2caffe's {self.name} dialect, generated from backends/schema.py", 'syntax = "proto2";',
                 f"package {self._proto.package};", ""]
        labels = {descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL: "optional",
                  descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED: "repeated"}
        for message in self._proto.message_type:
            lines.append(f"message {message.name} {{")
            for enum in message.enum_type:
                lines.append(f"  enum {enum.name} {{")
                lines += [f"    {v.name} = {v.number};" for v in enum.value]
                lines.append("  }")
            for f in message.field:
                type_name = (f.type_name.split(".")[-1] if f.type == f.TYPE_ENUM and
                             f.type_name.split(".")[-2] == message.name else f.type_name.removeprefix(
                                 f".{self._proto.package}.")) if f.type_name else \
                    descriptor_pb2.FieldDescriptorProto.Type.Name(f.type).removeprefix("TYPE_").lower()
                options = []
                if f.HasField("default_value"):
                    options.append(f"default = {f.default_value}")
                if f.options.packed:
                    options.append("packed = true")
                suffix = f" [{', '.join(options)}]" if options else ""
                lines.append(f"  {labels[f.label]} {type_name} {f.name} = {f.number}{suffix};")
            lines += ["}", ""]
        return "\n".join(lines)


_DIALECTS: dict[str, Dialect] = {}


def dialect(name: str) -> Dialect:
    if name not in _DIALECTS:
        if name not in DIALECTS:
            raise KeyError(f"unknown dialect {name!r}; known: {', '.join(DIALECTS)}")
        _DIALECTS[name] = Dialect(name)
    return _DIALECTS[name]


def reader() -> Dialect:
    """The widest dialect, for reading back any prototxt we wrote (unknown fields still need allow_unknown_field)."""
    return max((dialect(n) for n in DIALECTS), key=lambda d: len(d.layers))


if __name__ == "__main__":
    print(dialect(sys.argv[1] if len(sys.argv) > 1 else CAFFE).proto_text())
