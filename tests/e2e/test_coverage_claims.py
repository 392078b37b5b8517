"""The committed coverage reports (docs/coverage/*.json) make claims: this model verified on these targets at this
input. CI re-verifies a sample of them, so that a claim cannot silently go stale (googlenet's once did): each run
takes a rotating share of the families and, in each, a rotating model among its quicker half, chosen by the commit
being tested, and runs the sweep's own worker on it for every target the report lists."""
from __future__ import annotations

import hashlib
import json
import pathlib
import subprocess

import pytest

from compiler.driver import sweep
from compiler.driver.families import default_input_shape
from compiler.driver.verify.runtimes import FLOAT16_TOLERANCE, rknn_python
from tests.helpers import available_runtimes
from tests.needs import needs_zoo

pytestmark = needs_zoo

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPORTS = sorted((ROOT / "docs" / "coverage").glob("*.json"))
FAMILIES_PER_RUN = 10


def _rotation() -> int:
    """A number that changes with every commit (the tree's own hash when git is not available)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        text = head.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        text = "".join(path.read_text() for path in REPORTS)
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def _claims() -> list[tuple[str, dict]]:
    """(report, model entry) for one verified model of each family in this run's share."""
    by_family: dict[tuple[str, str], list[dict]] = {}
    for report in REPORTS:
        for entry in json.loads(report.read_text())["models"]:
            default = tuple(entry["input_shape"]) == default_input_shape(entry["model"])
            verified = [s for s in entry["status"].values() if s != "other target"]
            if default and verified and all(s == "verified" for s in verified):
                by_family.setdefault((report.name, entry["family"]), []).append(entry)
    rotation = _rotation()
    families = sorted(by_family)
    start = rotation % len(families)
    share = (families + families)[start:start + FAMILIES_PER_RUN]
    chosen = []
    for family in share:
        entries = sorted(by_family[family], key=lambda e: max(e["seconds"].values(), default=0.0))
        quicker = entries[:max(1, (len(entries) + 1) // 2)]
        chosen.append((family[0], quicker[(rotation // 7) % len(quicker)]))
    return chosen


@pytest.mark.slow
@pytest.mark.parametrize("report, entry", _claims(), ids=lambda v: v["model"] if isinstance(v, dict) else v)
def test_a_claimed_model_still_verifies(tmp_path, report, entry):
    targets = [t for t, s in entry["status"].items() if s == "verified"]
    claimed = json.loads((ROOT / "docs" / "coverage" / report).read_text())["runtimes"]
    # the report's runtimes that are here (a float16 simulator is checked at its own tolerance by the worker; the
    # ncnn wheel is a test dependency, as in tests/helpers.runtimes_for)
    here = available_runtimes() + ["ncnn"]
    runtimes = [r for r in claimed if r in here or (r == "rknn" and rknn_python())]
    result = sweep.run_worker(entry["model"], targets, runtimes, tuple(entry["input_shape"]), 0, str(tmp_path))
    assert all(result["status"][t] == "verified" for t in targets), (report, result["reason"])
    exact = {run: error for run, error in result["relative"].items() if run.split("/")[1] not in FLOAT16_TOLERANCE}
    assert exact and all(error <= 1e-4 for error in exact.values()), result["relative"]
