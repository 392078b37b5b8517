# Sourced by the build scripts of tests/runtimes/: where runtimes are cached (the same place
# compiler/driver/verify/runtimes.py looks), the Python tag a cache entry is keyed by, and progress messages.
CACHE=${GLUON2CAFFE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gluon2caffe}
python_tag() { "$1" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")'; }
start=$SECONDS
say() { echo "$(basename "$0" .sh): $* ($((SECONDS - start)) s so far)" >&2; }
