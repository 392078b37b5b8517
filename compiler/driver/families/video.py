"""3-D video networks (I3D, SlowFast, C3D, P3D, R(2+1)D): their 3-D convolutions and pooling have no layer in the
Caffe dialects written here; the frontend refuses them by node."""
from __future__ import annotations

from compiler.driver.families import Family, Group


class Video3D(Family):
    name = "video"
    task = "video"
    groups = (Group("video_3d", r"^(i3d|slowfast|c3d|p3d|r2plus1d)_"),)

    def default_input_hw(self, name: str) -> tuple[int, int]:
        return (299, 299) if "inceptionv3" in name else (224, 224)


FAMILY = Video3D()
