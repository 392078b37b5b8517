"""The params reader against malformed bytes: hypothesis-driven mutations of well-formed files of every layout, and
the kept corpus of what the fuzzer found (tests/fuzz/params_fuzz.py), through the reader and through the CLI — exit 2,
one line, no file written. GLUON2CAFFE_PARAMS_FUZZ_EXAMPLES inputs (default 3000) from a fixed seed."""
import os
import random
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.driver.cli import main
from tests.bad_inputs.cases import HERE
from tests.fuzz.params_fuzz import corpus_files, mutate, outcome, seed_files

EXAMPLES = int(os.environ.get("GLUON2CAFFE_PARAMS_FUZZ_EXAMPLES", "3000"))


def test_the_seeds_are_read():
    assert {outcome(seed) for seed in seed_files()} == {"ok"}


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None)
@given(st.integers(0, len(seed_files()) - 1), st.randoms(use_true_random=False))
def test_mutated_files_are_read_or_refused(seed_index, rng):
    outcome(mutate(seed_files()[seed_index], random.Random(rng.random())))


def test_the_corpus_holds_a_case_of_each_kind():
    kinds = {outcome(path.read_bytes()) for path in corpus_files()}
    assert len(kinds) >= 20 and "ok" not in kinds
    # the input that once made NumPy raise ValueError: an empty array claiming a shape over 2^63 bytes
    assert any("more than" in kind for kind in kinds)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_corpus_file_through_the_cli(tmp_path, capsys, path):
    symbol = os.path.join(HERE, "good", "model-symbol.json")
    params = tmp_path / "model-0000.params"
    shutil.copy(path, params)
    code = main(["convert", symbol, "--params", str(params), "--input-shape", "1,3,8,8", "-o", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("gluon2caffe: error: ") and err.count("\n") == 1, err
    assert not list(tmp_path.glob("m.*"))
