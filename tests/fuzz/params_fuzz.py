"""A fuzzer for the params reader (compiler/frontend/params.py), which parses untrusted bytes.

Inputs are mutations of well-formed files of every layout (tests/params_files.py): bytes flipped, cut, repeated or
inserted, and — where the format keeps its counts and lengths — those fields overwritten with boundary values, so the
reader meets huge claimed sizes, not just noise. An input passes when the reader returns arrays or raises ParamError,
within the time and memory a file of its size deserves; anything else (another exception, a long run, a large
allocation) is a finding.

The corpus (tests/fuzz/params_corpus/) keeps one input per distinct outcome the fuzzer has seen — the error message
with its numbers blanked — and every finding; the tests replay it. Grow it with

    python -m tests.fuzz.params_fuzz --runs 100000 --save

which prints how many inputs it tried and what it kept.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import re
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np

from compiler.errors import ParamError
from compiler.frontend.params import parse_params
from tests.params_files import params_bytes

CORPUS = Path(__file__).with_name("params_corpus")
# What a file may cost the reader beyond its own bytes (they are views of it, never copies), and how long it may take.
ALLOWED_ALLOCATION = 1 << 20
ALLOWED_SECONDS = 2.0
BOUNDARY_U64 = (0, 1, 2, 31, 32, 33, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, 1 << 62,
                (1 << 63) - 1, 1 << 63, (1 << 64) - 1)


def seed_files() -> list[bytes]:
    """Well-formed files: each layout, named and unnamed, several dtypes, scalars, empty and zero-sized arrays."""
    rng = np.random.RandomState(0)
    arrays = {"arg:conv0_weight": rng.standard_normal((2, 3, 1, 1)).astype(np.float32),
              "aux:bn_moving_var": np.arange(3, dtype=np.float16),
              "arg:fc_bias": np.arange(4, dtype=np.int32)}
    seeds = [params_bytes(arrays, layout) for layout in ("v1", "v2", "v3", "legacy")]
    seeds.append(params_bytes(list(arrays.values()), "v2"))                       # unnamed list
    seeds.append(params_bytes({"arg:é": np.zeros((0, 3), np.float64)}, "v2"))     # zero-sized, non-ASCII name
    seeds.append(params_bytes({"arg:empty": np.zeros(())}, "v2"))                 # an empty (no-shape) array
    seeds.append(params_bytes({"arg:scalar": np.float32(1.5) * np.ones(())}, "v3"))
    seeds.append(params_bytes({}, "v2"))
    return seeds


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits of `data`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        edit = rng.randrange(7)
        at = rng.randrange(len(out) + 1)
        if edit == 0 and out:                                    # flip bits of one byte
            at = min(at, len(out) - 1)
            out[at] ^= 1 << rng.randrange(8)
        elif edit == 1:                                          # cut the file
            del out[at:]
        elif edit == 2:                                          # insert random bytes
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif edit == 3 and out:                                  # delete a run
            del out[at:at + rng.randint(1, 16)]
        elif edit == 4 and len(out) >= 8:                        # a u64 field (a count or length) at a boundary
            at = rng.randrange(0, len(out) - 7, 4)
            out[at:at + 8] = struct.pack("<Q", rng.choice(BOUNDARY_U64))
        elif edit == 5 and len(out) >= 4:                        # a u32/i32 field (a header, dims, a flag)
            at = rng.randrange(0, len(out) - 3, 4)
            out[at:at + 4] = struct.pack("<I", rng.choice(BOUNDARY_U64) & 0xFFFFFFFF)
        elif edit == 6 and out:                                  # repeat a run (a record twice)
            length = rng.randint(1, 64)
            out[at:at] = out[at:at + length]
    return bytes(out)


def outcome(data: bytes) -> str:
    """What the reader made of `data`: "ok", or the ParamError's message with its numbers blanked. Anything else
    raises AssertionError naming the finding."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parse_params(data)
        result = "ok"
    except ParamError as exc:
        result = re.sub(r"\([^)]*\)|0x[0-9a-f]+|-?\d+", "#", str(exc).split(": ", 1)[-1].split(" -> ")[0])
        assert "\n" not in str(exc), f"a multi-line message: {exc}"
    except Exception as exc:   # noqa: BLE001 — any other exception is what the fuzzer looks for
        raise AssertionError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert peak <= ALLOWED_ALLOCATION + 4 * len(data), f"allocated {peak} bytes for a file of {len(data)}"
    assert elapsed <= ALLOWED_SECONDS, f"took {elapsed:.1f} s"
    return result


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.params"))


def campaign(runs: int, seed: int, save: bool) -> tuple[int, list[str], list[str]]:
    """Run `runs` mutated inputs; returns (inputs tried, outcomes new to the corpus, findings)."""
    rng = random.Random(seed)
    seeds = seed_files() + [p.read_bytes() for p in corpus_files()]
    known = {outcome(s) if not _is_finding(s) else "finding" for s in seeds}
    new, findings = [], []
    for _ in range(runs):
        data = mutate(rng.choice(seeds), rng)
        try:
            result = outcome(data)
        except AssertionError as exc:
            findings.append(str(exc))
            result = f"finding: {exc}"
        if result not in known:
            known.add(result)
            new.append(result)
            if save:
                CORPUS.mkdir(exist_ok=True)
                (CORPUS / f"{hashlib.sha1(data).hexdigest()[:16]}.params").write_bytes(data)
    return runs, new, findings


def _is_finding(data: bytes) -> bool:
    try:
        outcome(data)
        return False
    except AssertionError:
        return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="keep inputs with new outcomes in the corpus")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tried, new, findings = campaign(args.runs, args.seed, args.save)
    print(f"{tried} inputs tried in {time.perf_counter() - started:.0f} s; {len(new)} new outcomes"
          f"{' kept in ' + str(CORPUS) if args.save and new else ''}; {len(findings)} findings")
    for line in new + findings:
        print("  " + line)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
