#!/usr/bin/env bash
# The whole test suite: builds, makes reference goldens for any model in ../shared/models that has
# none yet (needs the PyPI reference tools, installed on demand), runs every test with ctest, then
# the input-handling tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Fails on any compiler warning in the build it makes.
# Usage: bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SQUISH_SHARED_DIR:-$(cd .. && pwd)/shared}
export SQUISH_SHARED_DIR=$shared
export SQUISH_GOLDEN_DIR=${SQUISH_GOLDEN_DIR:-$PWD/build/goldens}

bash tools/setup.sh --all
# A normal build is warning-free (the README's first command prints nothing from the compiler): what
# this build compiled is in build/build.log.
if grep -n "warning:" build/build.log >&2; then
  echo "test: the compiler warned (above, from build/build.log)" >&2
  exit 1
fi

missing=$(python3 tools/make_model_goldens.py --shared "$shared" --out "$SQUISH_GOLDEN_DIR" \
          --also-look-in tests/fixtures/models --list-missing)
if [ -n "$missing" ]; then
  echo "test: making reference goldens for: $missing" >&2
  python3 -c "import torch, transformers, tokenizers" 2>/dev/null || pip install -q -r tools/requirements-reference.txt
  python3 tools/make_model_goldens.py --shared "$shared" --out "$SQUISH_GOLDEN_DIR" \
    --also-look-in tests/fixtures/models --missing-only
fi

# The static W8A8 fake-quant goldens need squish itself (it chooses the calibration and the scales).
missing_static=$(python3 tools/make_static_goldens.py --shared "$shared" --out "$SQUISH_GOLDEN_DIR" \
                 --also-look-in tests/fixtures/models --list-missing)
if [ -n "$missing_static" ]; then
  echo "test: making static fake-quant goldens for: $missing_static" >&2
  python3 -c "import torch, transformers, tokenizers, safetensors" 2>/dev/null || pip install -q -r tools/requirements-reference.txt
  python3 tools/make_static_goldens.py --squish build/squish --shared "$shared" --out "$SQUISH_GOLDEN_DIR" \
    --also-look-in tests/fixtures/models --missing-only
fi

# The pre-trained encoder the RealModel training tests fine-tune (downloaded once into the cache).
export SQUISH_PRETRAINED_DIR=$(bash tools/fetch_pretrained.sh | tail -1)
# SmolLM2-135M-Instruct's GGUF, which the GGUF reader's real-file test reads (downloaded once into the cache).
export SQUISH_SMOLLM2_GGUF=$(bash tools/fetch_smollm2.sh | tail -1)

ctest --test-dir build --output-on-failure -j2 --timeout 1500

# Hostile and broken inputs under the sanitizers, in their own build folder: the readers' tests
# (src/io) and the CLI's, which drive the sanitized squish binary through broken models and data.
# Left out there (all run in the ordinary build above): the real models' CLI runs (fine-tuning the
# encoder, compressing SmolLM2), the Chromium page, the BPE tokenizer over every text of three
# corpora, SmolLM2's 49,152-token vocabulary written as tokenizer.json and read back, the tokenizer's
# throughput over IMDB test, and the CLI's longest feature runs (mixed precision, neuron pruning,
# IMP, f16 training): minutes under ASan at -O0, and no untrusted input of their own (the tokenizers'
# hostile inputs, random bytes and crafted strings, and every command's refusals do run there).
# -g1: line tables for the sanitizers' stack traces, a quicker build than full debug information.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DSQUISH_SANITIZE=ON \
  -DSQUISH_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" --target test_io test_cli squish
skipped='RealModel|PageFromTinyRuns|EveryTextOfImdbSst2MrpcTrain|GgufTokenizerWrittenAsHfFiles|ImdbTestSetThroughput'
skipped+='|CliMixedPrecision|NeuronsShrinkTheFeedForwardLayers|ImpFollowsTheGeometricSchedule|SavesF16AtAboutHalfTheSize'
ctest --test-dir build-asan --output-on-failure -j2 -L '^(io|cli)$' -E "$skipped" --timeout 1500
