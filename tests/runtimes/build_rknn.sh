#!/usr/bin/env bash
# Install Rockchip's rknn-toolkit2 (from PyPI) in a virtual environment of its own and cache it outside the
# checkout, keyed by version:
#   $GLUON2CAFFE_CACHE/rknn-toolkit2-<version>-py<major><minor>/bin/python
# Prints that python (gluon2caffe's --runtime rknn runs its simulator through it, in a separate process).
# Its own environment because the toolkit pins torch<=2.4 and numpy<=1.26.4, which MXNet's numpy<1.24 and a
# modern project's numpy 2 both contradict. It needs Python 3.11 (its newest wheel is cp311). PyPI's torch 2.4 is
# a CUDA build: about 5.6 GB on disk, about 1-3 minutes to install from a nearby mirror (much longer over the internet).
set -euo pipefail
VERSION=2.5.0
PYTHON=${PYTHON:-python3.11}
. "$(dirname "$0")/common.sh"
PYTAG=$(python_tag "$PYTHON")
if [ "$PYTAG" != "311" ]; then
  echo "build_rknn: rknn-toolkit2 $VERSION has wheels for Python 3.11 here; $PYTHON is $PYTAG (set PYTHON=python3.11)" >&2
  exit 2
fi
PREFIX="$CACHE/rknn-toolkit2-$VERSION-py$PYTAG"
if [ -x "$PREFIX/bin/python" ] && [ -f "$PREFIX/.complete" ]; then
  echo "$PREFIX/bin/python"; exit 0
fi

say "no cached rknn-toolkit2 at $PREFIX: creating it (torch 2.4 from PyPI is ~5.6 GB; 1-3 minutes from a mirror)"
rm -rf "$PREFIX"
"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/python" -m pip install -q --upgrade pip >&2
"$PREFIX/bin/python" -m pip install -q "rknn-toolkit2==$VERSION" "torch==2.4.0" "numpy==1.26.4" >&2
say "checking that the toolkit imports"
"$PREFIX/bin/python" -c "from rknn.api import RKNN" >&2
touch "$PREFIX/.complete"
say "done"
echo "$PREFIX/bin/python"
