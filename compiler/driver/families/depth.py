"""Monocular depth (Monodepth2): the depth nets take the frame size their name gives (640×192 or 1024×320); the pose
nets take two frames stacked on the channels."""
from __future__ import annotations

import re

from compiler.driver.families import Family, Group


class Depth(Family):
    name = "depth"
    task = "depth"
    groups = (Group("monodepth2", r"^monodepth2_"),)
    input_hw = (192, 640)

    def default_input_hw(self, name: str) -> tuple[int, int]:
        size = re.search(r"_(\d+)x(\d+)$", name)
        return (int(size.group(2)), int(size.group(1))) if size else self.input_hw

    def channels(self, name: str) -> int:
        return 6 if "posenet" in name else 3


FAMILY = Depth()
