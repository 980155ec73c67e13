#!/usr/bin/env python3
"""Markdown table of bench_kernels' low-bit, fp16, fp32 and int8 GEMMs from its JSON output
(--benchmark_format=json, medians when run with --benchmark_repetitions): per shape and M the
times, the speedups over fp32 (gemm_packed) and the share of the int8 VNNI peak. Python 3 standard
library only (written with 3.11).

  python3 bench/lowbit_table.py out.json [real_time|cpu_time]
"""
import json
import re
import sys

SHAPES = {"qkv": (2304, 768), "attn_out": (768, 768), "ffn_in": (3072, 768), "ffn_out": (768, 3072)}
KINDS = ["gemm", "gemm_int8", "w4a8", "w2a8", "gemm_f16"]


def main():
    path, field = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "real_time"
    data = json.load(open(path))
    times, gathers = {}, []
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = re.sub(r"/real_time(_median)?$|_median$", "", b["name"])
        if name.startswith("gather/"):
            gathers.append((name, b[field]))
            continue
        kind, rest = name.split("/", 1)
        if kind == "gemm_lowbit":
            variant, rest = rest.split("/", 1)  # w4g64
            kind = f"w{variant[1]}a8"
        m = re.search(r"M:(\d+)", rest)
        if kind in KINDS and m:
            times[(rest.split("/")[0], int(m.group(1)), kind)] = b[field]
    ctx = data["context"]
    peak = float(ctx["int8_peak_gops"])
    print(f"threads {ctx['squish_threads']}, isa {ctx['squish_isa']}, {field}, int8 peak {peak:.0f} GOP/s, "
          f"fp32 peak {ctx['fp32_peak_gflops']} GFLOP/s, load at start {ctx.get('load_avg')}\n")
    print("| Linear (N×K) | M | fp32 ms | int8 ms | W4A8 ms | W2A8 ms | fp16 ms | W4A8/fp32 | W2A8/fp32 | fp16/fp32 "
          "| int8/fp32 | W4A8 % int8 peak | int8 % int8 peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for m in (1, 128, 4096):
        for shape, (n, k) in SHAPES.items():
            t = {kind: times.get((shape, m, kind)) for kind in KINDS}
            if None in t.values():
                continue
            speedup = {kind: t["gemm"] / t[kind] for kind in KINDS}
            share = {kind: 100 * 2.0 * m * n * k / (t[kind] * 1e-3) / (peak * 1e9) for kind in KINDS}
            print(f"| {shape} {n}×{k} | {m} | {t['gemm']:.3f} | {t['gemm_int8']:.3f} | {t['w4a8']:.3f} | {t['w2a8']:.3f} "
                  f"| {t['gemm_f16']:.3f} | {speedup['w4a8']:.2f}× | {speedup['w2a8']:.2f}× | {speedup['gemm_f16']:.2f}× "
                  f"| {speedup['gemm_int8']:.2f}× | {share['w4a8']:.0f}% | {share['gemm_int8']:.0f}% |")
    for name, value in gathers:
        print(f"\n{name}: {value:.1f} µs")


if __name__ == "__main__":
    main()
