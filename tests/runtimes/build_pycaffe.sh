#!/usr/bin/env bash
# Build the reference pycaffe (the brocolli-caffe sdist from PyPI: BVLC Caffe plus the caffe-ssd layers) for
# the Python running this script, and cache it outside the checkout, keyed by version:
#   $GLUON2CAFFE_CACHE/pycaffe-brocolli-<version>-py<major><minor>/python/caffe
# Prints that python/ directory (put it on PYTHONPATH). Debian 12 / CPU only. About 7 minutes at -j2.
set -euo pipefail
VERSION=9.0.2
PYTHON=${PYTHON:-python3}
. "$(dirname "$0")/common.sh"
PYTAG=$(python_tag "$PYTHON")
PREFIX="$CACHE/pycaffe-brocolli-$VERSION-py$PYTAG"
if [ -f "$PREFIX/python/caffe/_caffe.so" ] && [ -f "$PREFIX/.complete" ]; then
  echo "$PREFIX/python"; exit 0
fi

say "no cached pycaffe at $PREFIX: building brocolli-caffe $VERSION, usually about 7 minutes on 2 cores"
packages="cmake g++ make libboost-system-dev libboost-thread-dev libboost-filesystem-dev libboost-regex-dev
  libboost-python-dev libprotobuf-dev protobuf-compiler libgoogle-glog-dev libgflags-dev libhdf5-dev libopenblas-dev"
if ! dpkg -s $packages >/dev/null 2>&1; then
  say "installing the Debian build dependencies (about 1 minute)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages) >&2
fi
"$PYTHON" -m pip install -q "six" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "downloading the brocolli-caffe $VERSION source from PyPI"
"$PYTHON" -m pip download -q --no-deps --no-binary :all: "brocolli-caffe==$VERSION" -d "$work" >&2
tar xzf "$work/brocolli-caffe-$VERSION.tar.gz" -C "$work"
src="$work/brocolli-caffe-$VERSION"

# Its setup.py wants conda and Python <= 3.9: drive CMake directly, with these fixes.
"$PYTHON" - "$src" "$PYTAG" <<'PY'
import pathlib, re, sys
src, pytag = pathlib.Path(sys.argv[1]), sys.argv[2]

def edit(path, old, new, count=1):
    file = src / path
    text = file.read_text()
    if old not in text:
        raise SystemExit(f"patch target not found in {path}: {old!r}")
    file.write_text(text.replace(old, new, count))

# Conda's hard-coded include and link paths → CMake's own Python 3 + NumPy discovery.
top = (src / "CMakeLists.txt").read_text()
top = re.sub(r"include_directories\(\$\{ANACONDA_HOME\}[^\n]*\n", "", top)
top = re.sub(r"link_directories\(\$\{ANACONDA_HOME\}[^\n]*\n", "", top)
top = top.replace("include(cmake/Dependencies.cmake)",
                  "include(cmake/Dependencies.cmake)\nfind_package(Python3 COMPONENTS Interpreter Development NumPy REQUIRED)\n"
                  "include_directories(${Python3_INCLUDE_DIRS} ${Python3_NumPy_INCLUDE_DIRS} /usr/include/hdf5/serial)\n"
                  "link_directories(/usr/lib/x86_64-linux-gnu/hdf5/serial /usr/lib/aarch64-linux-gnu/hdf5/serial)")
(src / "CMakeLists.txt").write_text(top)
# Debian names the libraries boost_python311 and hdf5_serial.
edit("python/CMakeLists.txt", "-lboost_python ", f"-lboost_python{pytag} ")
edit("python/CMakeLists.txt", "-lhdf5_hl -lhdf5", "-lhdf5_serial_hl -lhdf5_serial")
# An unused gtest header.
edit("src/caffe/net.cpp", '#include "caffe/test/test_caffe_main.hpp"', "")
# scikit-image only for image loading helpers.
edit("python/caffe/io.py", "import skimage.io\n", "try:\n    import skimage.io\nexcept ImportError:\n    skimage = None\n")
# 512 MiB protobuf cap: VGG-sized caffemodels are larger.
text = (src / "src/caffe/util/io.cpp").read_text()
(src / "src/caffe/util/io.cpp").write_text(text.replace("SetTotalBytesLimit(536870912)", "SetTotalBytesLimit(INT_MAX)"))
PY

say "configuring with CMake (CPU only, pycaffe target)"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCPU_ONLY=ON -DUSE_OPENCV=OFF -DUSE_LMDB=OFF \
  -DUSE_LEVELDB=OFF -DBUILD_python=ON -DBUILD_python_layer=OFF -DPython3_EXECUTABLE="$(command -v "$PYTHON")" >&2
say "compiling Caffe and its Python module with $(nproc) jobs: the long step, about 6 minutes"
cmake --build "$work/build" -j "$(nproc)" --target pycaffe >&2
say "built; caching it in $PREFIX"

rm -rf "$PREFIX"
mkdir -p "$PREFIX/python"
cp -rL "$src/python/caffe" "$PREFIX/python/caffe"
touch "$PREFIX/.complete"
echo "$PREFIX/python"
