"""Verification on a real image: read it, resize it to the model's input, and show what people look at — the top
classes of a classifier, the detections of a detector — for MXNet and each runtime side by side."""
from __future__ import annotations

import os

import numpy as np

from compiler.errors import ConversionError

TOP = 5


def read_image(path: str) -> np.ndarray:
    """The image at `path` as RGB uint8 (H, W, 3); a clear error for a missing or unreadable file."""
    import cv2

    if not os.path.isfile(path):
        raise ConversionError(f"--image {path}: no such file", hint="pass the path of a JPEG or PNG image")
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ConversionError(f"--image {path}: OpenCV cannot read it as an image",
                              hint="pass a JPEG, PNG or another format OpenCV reads")
    return np.ascontiguousarray(image[:, :, ::-1])   # OpenCV reads BGR; the MXNet models take RGB


def image_pixels(image: np.ndarray, shape) -> np.ndarray:
    """Raw pixels (0..255, RGB, float32) as an (N, 3, H, W) input: the image resized bilinearly to H × W and repeated
    over the batch."""
    import cv2

    n, channels, height, width = shape
    if channels != 3:
        raise ConversionError(f"--image needs a 3-channel input, the model's input is {tuple(shape)}")
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return np.ascontiguousarray(np.repeat(resized.transpose(2, 0, 1)[None], n, axis=0))


def top_classes(scores: np.ndarray, count: int = TOP) -> list[tuple[int, float]]:
    """(class, score) of the first image's `count` best classes."""
    row = np.asarray(scores, np.float64).reshape(scores.shape[0], -1)[0]
    order = np.argsort(-row, kind="stable")[:count]
    return [(int(i), float(row[i])) for i in order]


def is_classifier_output(array: np.ndarray) -> bool:
    shape = np.shape(array)
    return len(shape) == 2 and shape[1] > 1 or (len(shape) == 4 and shape[1] > 1 and shape[2:] == (1, 1))


def detection_lines(gluoncv: np.ndarray, caffe: np.ndarray, runtime: str, count: int = TOP) -> list[str]:
    """The best `count` detections [class, score, box normalised] of both sides, side by side."""
    def rows(table):
        table = table[np.argsort(-table[:, 1], kind="stable")][:count] if len(table) else table
        return [f"class {int(r[0])} score {r[1]:.4f} box ({r[2]:.3f}, {r[3]:.3f}, {r[4]:.3f}, {r[5]:.3f})"
                for r in table]
    left, right = rows(gluoncv), rows(caffe)
    lines = [f"best detections: {'GluonCV':<58} | {runtime}"]
    for i in range(max(len(left), len(right))):
        lines.append(f"  {left[i] if i < len(left) else '':<73} | {right[i] if i < len(right) else ''}")
    return lines


def draw_detections(image: np.ndarray, by_side: dict, path: str, count: int = 20) -> str:
    """One PNG: the image once per side (GluonCV, then each runtime) with its best `count` boxes and labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sides = list(by_side)
    figure, axes = plt.subplots(1, len(sides), figsize=(5.5 * len(sides), 5.5), squeeze=False)
    height, width = image.shape[:2]
    for axis, side in zip(axes[0], sides):
        axis.imshow(image)
        table = by_side[side]
        table = table[np.argsort(-table[:, 1], kind="stable")][:count] if len(table) else table
        for cls, score, x1, y1, x2, y2 in table:
            axis.add_patch(plt.Rectangle((x1 * width, y1 * height), (x2 - x1) * width, (y2 - y1) * height,
                                         fill=False, edgecolor="lime", linewidth=1.5))
            axis.text(x1 * width, y1 * height, f"{int(cls)}: {score:.2f}", color="black", fontsize=7,
                      bbox={"facecolor": "lime", "alpha": 0.7, "pad": 1, "edgecolor": "none"})
        axis.set_title(f"{side}: {len(by_side[side])} detections (best {min(count, len(table))} drawn)")
        axis.set_xlim(0, width)
        axis.set_ylim(height, 0)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
