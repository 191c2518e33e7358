#!/usr/bin/env bash
# What `make up`, `make test` and CI need before anything else, checked in one place: the
# machine's prerequisites (one line each saying what to install when missing) and the pinned
# uv, installed from PyPI into ~/.local/bin when absent or of another version.
#
#   bash dev/bootstrap.sh     exits non-zero, with one line per missing prerequisite
set -euo pipefail
UV_VERSION=0.13.9   # the uv that wrote uv.lock; another version may resolve differently

missing=0
need() {  # need <command> <what to install>
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "bootstrap: $1 is missing: install $2" >&2
  missing=1
}
need python3.11 "Python 3.11 (the project's language), e.g. the Debian package python3.11"
need go "Go >= 1.26 (builds etcd, Kubernetes, kwok, FerretDB, helm): https://go.dev/dl or the Go package of your system"
need java "Java 17 (runs Kafka), e.g. the Debian package openjdk-17-jre-headless"
need mvn "Maven (fetches Kafka from Maven Central), e.g. the Debian package maven"
need flock "flock (util-linux), which serialises uv syncs"
if command -v go >/dev/null 2>&1; then
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  case $have in
    1.2[6-9]*|1.[3-9]*|[2-9].*) ;;
    *) echo "bootstrap: Go $have is too old: install Go >= 1.26" >&2; missing=1 ;;
  esac
fi
[ "$missing" = 0 ] || exit 1

# uv goes into a venv of its own in the tool cache (a system Python may refuse `pip install
# --user`, PEP 668), linked from ~/.local/bin, where the Makefile and CI look first.
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  venv=${LULEA_CACHE:-$HOME/.cache/lulea}/uv-$UV_VERSION
  echo "bootstrap: installing uv $UV_VERSION from PyPI into $venv, linked from ~/.local/bin/uv"
  if [ ! -x "$venv/bin/uv" ]; then
    rm -rf "$venv"
    python3.11 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION" \
      || { echo "bootstrap: could not install uv $UV_VERSION (python3.11 -m venv, then pip); install python3.11-venv" >&2
           rm -rf "$venv"; exit 1; }
  fi
  mkdir -p "$HOME/.local/bin"
  ln -sf "$venv/bin/uv" "$HOME/.local/bin/uv"
fi
