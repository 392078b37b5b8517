"""Trackers (SiamRPN): two inputs (template and search region) and a correlation of two activations, which no Caffe
layer computes; the frontend refuses it by node."""
from __future__ import annotations

from compiler.driver.families import Family, Group


class Tracking(Family):
    name = "tracking"
    task = "tracking"
    groups = (Group("siamrpn", r"^siamrpn"),)


FAMILY = Tracking()
