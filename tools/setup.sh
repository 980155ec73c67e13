#!/usr/bin/env bash
# Installs squish's build dependencies (Debian packages) and builds squish into build/, quietly: the
# compiler's output goes to build/build.log and is shown only when the build fails.
# Usage: bash tools/setup.sh            build/squish only (what the README's first command runs)
#        bash tools/setup.sh --all      squish, the test suites and the benchmarks (tools/test.sh)
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libdnnl-dev libopenmpi-dev openmpi-bin nlohmann-json3-dev libcli11-dev libfmt-dev libzip-dev
          zlib1g-dev libicu-dev libeigen3-dev libgtest-dev libgmock-dev libbenchmark-dev python3 unzip
          libjs-chart.js chromium)  # Chart.js: embedded in report pages at build time; chromium: tools/check_report.py
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

targets=(--target squish)
[ "${1:-}" = --all ] && targets=()
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >build/build.log
if [ ! -x build/squish ]; then
  echo "setup: building squish (a few minutes on 2 cores; compiler output in build/build.log)" >&2
fi
if ! cmake --build build -j"$(nproc)" "${targets[@]}" >>build/build.log 2>&1; then
  grep -E -A5 "error:|FAILED:|undefined reference" build/build.log | head -80 >&2
  echo "setup: the build failed; the whole compiler output is in build/build.log" >&2
  exit 1
fi
