#!/usr/bin/env python3
"""Reference ranges for squish's calibration observers (src/quant/observers.h), on one fixed sample set.

Writes to <out> (default tests/fixtures/observers):
  - samples.f32: 20,000 float32 values, little-endian, in 10 calibration batches of 2,000: Laplace(0, 1)
    draws, with 10 outliers of magnitude 30..60 shuffled into batches 2..10 (batch 1 has none, so the
    streaming histogram starts narrow and has to double its range three times);
  - goldens.json: the versions used, the batch layout, and
      entropy: the KL threshold of a numpy re-implementation of the published TensorRT algorithm (GTC 2017
        "8-bit inference with TensorRT", with MXNet's smoothing as in its _get_optimal_threshold) on the
        histogram squish builds, which is what the C++ test asserts against;
      onnxruntime_entropy: onnxruntime's own entropy range on the same samples, for information only. ORT
        scores the signed histogram (i bins left of zero and i + 1 right of it, merged into 128 levels across
        both signs, i.e. 64 per side), truncates Q to integers and spreads it over empty bins too, so its
        optimum is not squish's; the test only checks that it lands in the same neighbourhood;
      torch_moving_average: PyTorch's MovingAverageMinMaxObserver (averaging_constant 0.01) over the batches.

The histogram mirrors squish's exactly: R = max|x| of the first batch, doubled until it holds every value
(merging on doubling is exact, so the streaming histogram equals this direct one), 2048 bins per side, a value
x != 0 in bin ceil(|x| / R * 2048) - 1 from zero on its side, zero in the first positive bin.

Usage: python3 tools/make_observer_goldens.py [--out tests/fixtures/observers]
Versions used for the committed goldens: numpy 2.4.6, onnxruntime 1.32.0, torch 2.15.0.
"""
import argparse
import contextlib
import io
import json
import os

import numpy as np

SEED = 20240611
BATCHES, BATCH_SIZE, OUTLIERS = 10, 2000, 10
BINS_PER_SIDE = 2048
LEVELS = 128  # TensorRT's: the magnitudes of signed int8
EPS = 1e-4  # MXNet's smoothing, in counts


def draw_batches():
    rng = np.random.default_rng(SEED)
    body = rng.laplace(0.0, 1.0, BATCHES * BATCH_SIZE - OUTLIERS)
    outliers = rng.uniform(30.0, 60.0, OUTLIERS) * rng.choice([-1.0, 1.0], OUTLIERS)
    rest = np.concatenate([body[BATCH_SIZE:], outliers])
    rng.shuffle(rest)
    return np.concatenate([body[:BATCH_SIZE], rest]).astype(np.float32).reshape(BATCHES, BATCH_SIZE)


def squish_half_range(batches):
    half_range = float(np.max(np.abs(batches[0].astype(np.float64))))
    max_abs = float(np.max(np.abs(batches.astype(np.float64))))
    while max_abs > half_range:
        half_range *= 2
    return half_range


def folded_histogram(values, half_range):
    """Counts of |x| in bins (k w, (k + 1) w], zero in bin 0: squish's signed histogram folded."""
    magnitude = np.abs(values.astype(np.float64))
    bins = np.ceil(magnitude / half_range * BINS_PER_SIDE) - 1
    bins[magnitude == 0] = 0
    return np.bincount(bins.astype(np.int64), minlength=BINS_PER_SIDE).astype(np.float64)


def smooth(p):
    """Zeros to EPS, the same mass taken evenly from the non-zeros; None where that leaves one <= 0."""
    zeros = p == 0
    if zeros.all():
        return None
    taken = EPS * zeros.sum() / (p.size - zeros.sum())
    out = np.where(zeros, EPS, p - taken)
    return None if (out <= 0).any() else out


def kl_threshold_bins(hist):
    """TensorRT's search: the number i of leading bins whose 128-level quantization loses least (KL)."""
    best_kl, best_i = np.inf, hist.size
    for i in range(LEVELS, hist.size + 1):
        kept = hist[:i]
        p = kept.copy()
        p[-1] += hist[i:].sum()
        nonzero = p != 0
        merged = i // LEVELS
        q = np.zeros(i)
        for level in range(LEVELS):
            start = level * merged
            stop = i if level == LEVELS - 1 else start + merged
            norm = nonzero[start:stop].sum()
            if norm:
                q[start:stop] = kept[start:stop].sum() / norm
        q[~nonzero] = 0
        p, q = smooth(p), smooth(q)
        if p is None or q is None:
            continue
        p, q = p / p.sum(), q / q.sum()
        kl = float(np.sum(p * np.log(p / q)))
        if kl < best_kl:
            best_kl, best_i = kl, i
    return best_i, best_kl


def onnxruntime_entropy(values):
    from onnxruntime.quantization.calibrate import HistogramCollector

    collector = HistogramCollector("entropy", False, 2 * BINS_PER_SIDE, LEVELS, 99.99, "same")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress
        collector.collect({"x": values})
        lo, hi = collector.compute_collection_result()["x"][:2]
    return float(lo), float(hi)


def torch_moving_average(batches):
    import torch
    from torch.ao.quantization.observer import MovingAverageMinMaxObserver

    observer = MovingAverageMinMaxObserver(averaging_constant=0.01)
    for batch in batches:
        observer(torch.from_numpy(batch.copy()))
    return float(observer.min_val), float(observer.max_val)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "observers"))
    args = parser.parse_args()

    import onnxruntime
    import torch

    batches = draw_batches()
    values = batches.reshape(-1)
    half_range = squish_half_range(batches)
    width = half_range / BINS_PER_SIDE
    bins, kl = kl_threshold_bins(folded_histogram(values, half_range))
    threshold = bins * width
    lo, hi = float(values.min()), float(values.max())
    goldens = {
        "versions": {"numpy": np.__version__, "onnxruntime": onnxruntime.__version__, "torch": torch.__version__},
        "seed": SEED,
        "batches": BATCHES,
        "batch_size": BATCH_SIZE,
        "bins_per_side": BINS_PER_SIDE,
        "half_range": half_range,
        "bin_width": width,
        "min": lo,
        "max": hi,
        "entropy": {"threshold_bins": bins, "kl": kl, "threshold": threshold,
                    "lo": max(lo, -threshold), "hi": min(hi, threshold)},
        "onnxruntime_entropy": dict(zip(("lo", "hi"), onnxruntime_entropy(values))),
        "torch_moving_average": dict(zip(("lo", "hi"), torch_moving_average(batches))),
    }
    os.makedirs(args.out, exist_ok=True)
    values.astype("<f4").tofile(os.path.join(args.out, "samples.f32"))
    with open(os.path.join(args.out, "goldens.json"), "w") as f:
        json.dump(goldens, f, indent=2)
        f.write("\n")
    print(json.dumps(goldens, indent=2))


if __name__ == "__main__":
    main()
