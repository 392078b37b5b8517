"""What a compiled model takes and ends in, as the passes that change it record it.

The input contract: for each Caffe input, how its data relates to the MXNet input it replaces — its layout, its
channel order and the preprocessing folded into the model (reorder_input_layout, reorder_input_channels,
fold_input_normalization record it). The compilation carries it, writes it into PREFIX.report.json, and
verification feeds both models through it instead of re-deriving what the options meant.

A detection ending: the graph ends in DetectionOutput rows that equal the MXNet model's detections (fuse_ssd_head,
fuse_box_nms record it, with the MXNet values that the DetectionOutput's inputs equal where they know them)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    from compiler.ir.graph import Value


@attrs.frozen(kw_only=True)
class InputContract:
    name: str
    mxnet_shape: tuple[int, ...]
    channels_last: bool = False            # MXNet takes (N, H, W, C); Caffe the same pixels as (N, C, H, W)
    reversed_channels: bool = False        # Caffe's channels are MXNet's in reverse order (BGR for RGB)
    # Raw pixels: the MXNet input is (x·scale − mean) / std, mean and std per channel in the MXNet input's order.
    scale: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The Caffe input's shape."""
        if self.channels_last:
            n, h, w, c = self.mxnet_shape
            return (n, c, h, w)
        return tuple(self.mxnet_shape)

    @property
    def raw_pixels(self) -> bool:
        """Whether the Caffe model takes raw pixels (the normalisation is folded into it)."""
        return self.scale is not None or self.mean is not None or self.std is not None

    @property
    def is_colour_image(self) -> bool:
        shape = self.shape
        return len(shape) == 4 and shape[1] == 3

    def _channel_axis(self) -> int:
        return 3 if self.channels_last else 1

    def caffe_input(self, raw: np.ndarray) -> np.ndarray:
        """What the Caffe model takes for `raw`, an array in the MXNet input's layout and channel order (raw pixels
        when the normalisation is folded)."""
        value = np.ascontiguousarray(raw.transpose(0, 3, 1, 2)) if self.channels_last else raw
        return np.ascontiguousarray(value[:, ::-1]) if self.reversed_channels else value

    def _normalisation(self, array: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(scale, mean, std) shaped to broadcast over `array`'s channel axis."""
        axis = self._channel_axis()
        channels = array.shape[axis]
        shape = [1] * array.ndim
        shape[axis] = channels
        mean = np.broadcast_to(np.asarray(self.mean if self.mean is not None else 0.0, np.float64), (channels,))
        std = np.broadcast_to(np.asarray(self.std if self.std is not None else 1.0, np.float64), (channels,))
        return (self.scale if self.scale is not None else 1.0), mean.reshape(shape), std.reshape(shape)

    def mxnet_input(self, raw: np.ndarray) -> np.ndarray:
        """What the MXNet model takes for the same `raw` array: normalised per channel when the Caffe model takes raw
        pixels, else `raw` itself."""
        if not self.raw_pixels:
            return raw
        scale, mean, std = self._normalisation(raw)
        return ((raw * scale - mean) / std).astype(np.float32)

    def raw_for(self, mxnet_array: np.ndarray) -> np.ndarray:
        """The `raw` array for which mxnet_input gives `mxnet_array` (mxnet_input's inverse)."""
        if not self.raw_pixels:
            return mxnet_array
        scale, mean, std = self._normalisation(mxnet_array)
        return ((mxnet_array * std + mean) / scale).astype(np.float32)

    def to_json(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "mxnet_shape": list(self.mxnet_shape),
                "layout": "NCHW, the MXNet input's NHWC transposed" if self.channels_last else "as the MXNet input",
                "channels": "reversed (BGR for RGB)" if self.reversed_channels else "as the MXNet input",
                "raw_pixels": self.raw_pixels,
                "normalisation": None if not self.raw_pixels else {
                    "formula": "mxnet_input = (x · scale − mean) / std per channel",
                    "scale": self.scale if self.scale is not None else 1.0, "mean": self.mean, "std": self.std}}

    @classmethod
    def from_json(cls, data: dict) -> "InputContract":
        norm = data.get("normalisation") or {}
        return cls(name=data["name"], mxnet_shape=tuple(data["mxnet_shape"]),
                   channels_last=data["layout"] != "as the MXNet input",
                   reversed_channels=data["channels"] != "as the MXNet input",
                   scale=norm.get("scale") if norm else None,
                   mean=tuple(norm["mean"]) if norm.get("mean") is not None else None,
                   std=tuple(norm["std"]) if norm.get("std") is not None else None)


@attrs.frozen
class DetectionEnding:
    output: Value                                   # the IR value of the DetectionOutput rows
    references: dict = attrs.field(factory=dict)    # role (loc, conf, anchors) -> MXNet internal output name


@attrs.frozen
class BoxesLevel:
    """One level of a model that ends in boxes and class scores for the application's NMS: the MXNet outputs
    (compiler.ir.graph.Entry) its boxes and scores equal, its boxes per image, and the score columns in front
    that the model drops (1 for a background)."""
    boxes: object
    scores: object
    priors: int
    dropped_columns: int


@attrs.frozen
class BoxesEnding:
    """A model that ends in boxes (N, P, 4) and scores (N, P, K), its levels concatenated along P: how to assemble
    the same two tensors from MXNet's own internal outputs, to compare them before any NMS."""
    levels: tuple[BoxesLevel, ...]

    @property
    def references(self) -> list:
        return [entry for level in self.levels for entry in (level.boxes, level.scores)]

    def assemble(self, values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The (boxes, scores) the model outputs, from MXNet's values of `references` in order."""
        boxes, scores = [], []
        for level, box, score in zip(self.levels, values[0::2], values[1::2]):
            n = box.shape[0]
            boxes.append(box.reshape(n, level.priors, 4))
            scores.append(score.reshape(n, level.priors, -1)[:, :, level.dropped_columns:])
        return np.concatenate(boxes, axis=1), np.concatenate(scores, axis=1)


def identity_contracts(graph) -> dict[str, InputContract]:
    """The contract of every graph input before any pass changed it: the MXNet input as it is."""
    return {v.name: InputContract(name=v.name, mxnet_shape=tuple(v.type.shape)) for v in graph.inputs}
