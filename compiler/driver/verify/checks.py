"""Verification results as data: what each check compared and whether it passed. The CLI prints them (`lines`), the
sweep stores them (`to_json`); nothing reads a verdict back from text."""
from __future__ import annotations

import attrs
import numpy as np

DEFAULT_TOLERANCE = 1e-4


class RelativeError:
    """max |actual − reference| / max |reference| against a tolerance (fields max_abs_diff, max_abs_ref, tolerance)."""

    @property
    def relative(self) -> float:
        return self.max_abs_diff / self.max_abs_ref if self.max_abs_ref > 0 else self.max_abs_diff

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff)) and self.relative <= self.tolerance


@attrs.frozen
class OutputComparison(RelativeError):
    """One tensor of the converted model against its MXNet counterpart; on a float16 runtime also their cosine
    similarity, which must reach `min_cosine` (a relative bound alone lets a wrong sign pattern pass)."""
    name: str
    shape: tuple
    max_abs_diff: float
    max_abs_ref: float
    tolerance: float
    cosine: float | None = None
    min_cosine: float | None = None

    @property
    def ok(self) -> bool:
        return super().ok and (self.min_cosine is None or (self.cosine is not None and self.cosine >= self.min_cosine))

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "FAIL"
        cosine = "" if self.min_cosine is None else f", cosine {self.cosine:.6f} (at least {self.min_cosine:g})"
        return (f"{self.name} {self.shape}: max|diff| {self.max_abs_diff:.3e}, max|ref| {self.max_abs_ref:.3e}, "
                f"relative {self.relative:.3e} (tolerance {self.tolerance:g}){cosine} {verdict}")


@attrs.frozen
class UnmatchedOutput:
    """An output one side has and the other lacks: a failure, since nothing was compared for it."""
    name: str
    side: str          # which side has it: "Caffe" or "MXNet"

    ok = False
    relative = float("inf")

    def __str__(self) -> str:
        other = "MXNet" if self.side == "Caffe" else "Caffe"
        return f"{self.name}: unmatched — the {self.side} model has this output and the {other} model has none FAIL"


def cosine_similarity(reference: np.ndarray, actual: np.ndarray) -> float:
    """cos∠(reference, actual) of the flattened tensors (1 when both are zero)."""
    norms = float(np.linalg.norm(reference)) * float(np.linalg.norm(actual))
    if norms == 0:
        return 1.0 if not reference.any() and not actual.any() else 0.0
    return float(np.dot(reference.ravel(), actual.ravel()) / norms)


def compare_outputs(names, reference, actual, tolerance: float = DEFAULT_TOLERANCE,
                    min_cosine: float | None = None) -> list:
    """One comparison per output pair, in order; outputs left over on either side are UnmatchedOutput failures.
    With `min_cosine` (a float16 runtime) each comparison holds the pair's cosine similarity too."""
    names, reference, actual = list(names), list(reference), list(actual)
    if len(names) != len(actual):
        raise ValueError(f"{len(names)} output names for {len(actual)} runtime outputs")
    results: list = []
    for name, ref, got in zip(names, reference, actual):
        ref = np.asarray(ref, np.float64)
        got = np.asarray(got, np.float64)
        if got.size != ref.size:
            results.append(OutputComparison(name, ref.shape, float("inf"), float(np.abs(ref).max()), tolerance,
                                            None, min_cosine))
            continue
        got = got.reshape(ref.shape)
        cosine = cosine_similarity(ref, got) if min_cosine is not None else None
        results.append(OutputComparison(name, ref.shape, float(np.abs(got - ref).max()), float(np.abs(ref).max()),
                                        tolerance, cosine, min_cosine))
    results += [UnmatchedOutput(names[i], "Caffe") for i in range(len(reference), len(actual))]
    results += [UnmatchedOutput(f"MXNet output {i} {tuple(np.shape(reference[i]))}", "MXNet")
                for i in range(len(actual), len(reference))]
    return results


@attrs.frozen
class DetectionComparison:
    """One model's detections against GluonCV's, as (class, score, box) sets matched within the tolerance."""
    reference_count: int
    caffe_count: int
    matched: int
    max_score_diff: float
    max_box_diff: float          # normalised coordinates
    tolerance: float
    reference: str = "GluonCV"   # what the detections are compared with

    @property
    def equal(self) -> bool:
        return self.matched == self.reference_count == self.caffe_count

    @property
    def prefix(self) -> bool:
        """Every GluonCV detection is also a Caffe one (what per-class top_k guarantees)."""
        return self.matched == self.reference_count

    @property
    def ok(self) -> bool:
        return self.equal

    def __str__(self) -> str:
        verdict = "equal" if self.equal else ("GluonCV's are a subset" if self.prefix else "DIFFERENT")
        return (f"detections: {self.reference} {self.reference_count}, converted {self.caffe_count}, matched "
                f"{self.matched} "
                f"(max |score diff| {self.max_score_diff:.2e}, max |box diff| {self.max_box_diff:.2e} normalised, "
                f"tolerance {self.tolerance:g}): {verdict}")


@attrs.frozen
class ClassAgreement:
    """A classifier output on a real image: the top classes (class, score) of both sides."""
    name: str
    mxnet: tuple
    runtime_top: tuple
    runtime: str

    @property
    def same(self) -> bool:
        return [c for c, _ in self.mxnet] == [c for c, _ in self.runtime_top]

    def lines(self) -> list[str]:
        count = len(self.mxnet)
        return [f"{self.name} top-{count} MXNet:    " + ", ".join(f"{c} ({s:.4f})" for c, s in self.mxnet),
                f"{self.name} top-{count} {self.runtime + ':':<9} "
                + ", ".join(f"{c} ({s:.4f})" for c, s in self.runtime_top),
                f"{self.name}: the same top-{count} classes in the same order" if self.same else
                f"{self.name}: the top-{count} classes DIFFER"]


@attrs.frozen
class RuntimeVerdict:
    """One runtime's verification of written files: the tensor checks, the detection check (a detector), the
    class agreement on a real image (a classifier), and notes on what was not compared."""
    runtime: str
    tensors: tuple = ()
    detections: DetectionComparison | None = None
    classes: tuple[ClassAgreement, ...] = ()
    notes: tuple[str, ...] = ()
    rows: tuple = ()              # with detections: the first image's rows (GluonCV, this runtime)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tensors) and (self.detections is None or self.detections.ok)

    @property
    def worst_relative(self) -> float:
        """The largest relative difference of the tensors (an unmatched one counts as infinite; a detector's priors,
        compared in absolute terms, do not count), or without tensors the largest score or box difference of the
        matched detections."""
        compared = [t for t in self.tensors if not t.name.startswith("priors")]
        if compared:
            return max(t.relative for t in compared)
        if self.detections is not None and not self.tensors:
            return max(self.detections.max_score_diff, self.detections.max_box_diff)
        return 0.0

    @property
    def lowest_cosine(self) -> float | None:
        """The smallest cosine similarity of the tensors compared by it (a float16 runtime), else None."""
        cosines = [t.cosine for t in self.tensors if isinstance(t, OutputComparison) and t.cosine is not None]
        return min(cosines) if cosines else None

    def failures(self) -> list[str]:
        """What failed, one description per failing check."""
        found = [str(t) for t in self.tensors if not t.ok]
        if self.detections is not None and not self.detections.ok:
            found.append(str(self.detections))
        return found

    def lines(self) -> list[str]:
        lines = [str(t) for t in self.tensors]
        lines += [str(self.detections)] if self.detections is not None else []
        lines += [line for agreement in self.classes for line in agreement.lines()]
        return lines + list(self.notes)

    def to_json(self) -> dict:
        return {"runtime": self.runtime, "ok": self.ok, "worst_relative": self.worst_relative,
                "lowest_cosine": self.lowest_cosine,
                "tensors": [attrs.asdict(t) | {"ok": t.ok, "relative": t.relative} for t in self.tensors],
                "detections": None if self.detections is None else
                attrs.asdict(self.detections) | {"equal": self.detections.equal},
                "classes": [{"name": c.name, "same": c.same} for c in self.classes], "notes": list(self.notes)}
