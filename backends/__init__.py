"""Backends: one target per Caffe dialect, all emitting through one shared writer."""
from __future__ import annotations

from backends.target import Target, TargetPolicy


def _targets() -> dict[str, Target]:
    from backends import caffe, caffe_ssd, ncnn

    return {t.name: t for t in (caffe.TARGET, caffe_ssd.TARGET, ncnn.TARGET)}


def get_target(name: str) -> Target:
    from compiler.errors import ConversionError

    targets = _targets()
    if name not in targets:
        raise ConversionError(f"unknown target {name!r}", hint=f"choose one of {', '.join(sorted(targets))}")
    return targets[name]


def target_names() -> list[str]:
    return sorted(_targets())


__all__ = ["Target", "TargetPolicy", "get_target", "target_names"]
