#!/usr/bin/env python3
"""Whole forwards per ISA: squish's int8 (dynamic W8A32, static W8A8) against its own fp32, on this
machine's best ISA and on the AVX2 path, in interleaved rounds (the machine is shared and its speed
drifts: every configuration runs once per round, and each is reported as the median of its rounds).

Configurations: for each binary (--squish, and --baseline, e.g. an older build, to compare two
versions side by side), each ISA (--isas: native = no cap; avx2 = SQUISH_ISA=avx2
DNNL_MAX_CPU_ISA=AVX2, what an AVX2-only machine runs), each shape (--shapes BxS) and each model
(--models: a model directory, or a config.json for random weights of that shape), each --quants in
none, dynamic, static, dynamic-reduced, static-reduced (with --reduce_range: 7-bit activations,
which AVX2 runs on oneDNN's kernel), none-int8attention, dynamic-int8attention, static-int8attention
(with --attention int8: attention's products in int8 too): `squish bench --runs R --output -` and its median forward. A baseline binary without --reduce_range can only run the first three.

Prints one Markdown table: median ms, sequences/s and the ratio to the same binary's fp32 on the same
ISA and shape; with --baseline, also the ratio of the baseline's median to this binary's; with
--reference M (one of --models, e.g. a causal LM's fp32 source beside the models squish saved from
it), also each model's ratio to M's on the same binary, ISA and shape. The load
average before and after is printed too: rerun when it says other work shared the cores.

Usage: python3 bench/isa_speed.py --squish build/squish [--baseline OLD/squish] [--rounds 5]
       [--models ../shared/models/minilm-l6-sst2 ../shared/models/bert-base-uncased-vocab/config.json]
       [--shapes 32x128 1x128 8x512] [--isas native avx2] [--reference MODEL] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def bench(binary, model, shape, quant, isa, runs):
    env = dict(os.environ)
    if isa == "avx2":
        env.update(SQUISH_ISA="avx2", DNNL_MAX_CPU_ISA="AVX2")
    batch, seq = shape.split("x")
    source = ["--config", model] if model.endswith(".json") else ["--model_dir", model]
    mode = quant.removesuffix("-reduced").removesuffix("-int8attention")
    reduced = ["--reduce_range"] if quant.endswith("-reduced") else []
    reduced += ["--attention", "int8"] if quant.endswith("-int8attention") else []
    r = subprocess.run([binary, "bench", *source, "--batch", batch, "--seq", seq, "--quant", mode, *reduced, "--runs",
                        str(runs), "--output", "-"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{binary} bench failed: {r.stderr[-1500:]}")
    return json.loads(r.stdout)["median_ms"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("SQUISH_SHARED_DIR", os.path.join(here, "..", "..", "shared"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--squish", required=True)
    p.add_argument("--baseline")
    p.add_argument("--models", nargs="+", default=[os.path.join(shared, "models", "minilm-l6-sst2")])
    p.add_argument("--shapes", nargs="+", default=["32x128", "1x128"])
    p.add_argument("--isas", nargs="+", default=["native", "avx2"], choices=["native", "avx2"])
    p.add_argument("--quants", nargs="+", default=["none", "dynamic", "static"],
                   choices=["none", "dynamic", "static", "dynamic-reduced", "static-reduced", "none-int8attention",
                            "dynamic-int8attention", "static-int8attention"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--reference", help="one of --models: every row's speed-up over it is reported too")
    p.add_argument("--json")
    args = p.parse_args()
    if args.reference and (args.reference not in args.models or "none" not in args.quants):
        sys.exit("--reference must be one of --models, and --quants must include none")
    binaries = [("this", args.squish)] + ([("baseline", args.baseline)] if args.baseline else [])
    configs = [(b, m, s, i, q) for b in binaries for m in args.models for s in args.shapes for i in args.isas
               for q in args.quants if b[0] == "this" or q in ("none", "dynamic", "static")]
    load_before = os.getloadavg()[0]
    times = {c: [] for c in configs}
    for round_ in range(args.rounds):
        for c in configs:
            (_, binary), model, shape, isa, quant = c
            times[c].append(bench(binary, model, shape, quant, isa, args.runs))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    load_after = os.getloadavg()[0]
    median = {c: statistics.median(t) for c, t in times.items()}
    rows = []
    for c in configs:
        (label, binary), model, shape, isa, quant = c
        fp32 = median[((label, binary), model, shape, isa, "none")] if "none" in args.quants else None
        row = {"binary": label, "model": os.path.basename(model.rstrip("/")), "shape": shape, "isa": isa,
               "quant": quant, "median_ms": median[c], "rounds_ms": times[c],
               "sequences_per_s": int(shape.split("x")[0]) * 1000.0 / median[c]}
        if fp32:
            row["vs_fp32"] = fp32 / median[c]
        if args.reference:
            row["vs_reference"] = median[((label, binary), args.reference, shape, isa, "none")] / median[c]
        baseline = (binaries[1], model, shape, isa, quant) if args.baseline else None
        if label == "this" and baseline in median:
            row["vs_baseline"] = median[baseline] / median[c]
        rows.append(row)
    print(f"load average {load_before:.2f} before, {load_after:.2f} after; {args.rounds} interleaved rounds, "
          f"median of {args.runs} runs each")
    reference = os.path.basename(args.reference.rstrip("/")) if args.reference else ""
    print("| binary | model | shape | ISA | quant | median ms | seq/s | × own fp32 |" +
          (f" × {reference} |" if args.reference else "") + (" baseline ms / this ms |" if args.baseline else ""))
    print("|---|---|---|---|---|---:|---:|---:|" + ("---:|" if args.reference else "") +
          ("---:|" if args.baseline else ""))
    for r in rows:
        line = (f"| {r['binary']} | {r['model']} | {r['shape']} | {r['isa']} | {r['quant']} | {r['median_ms']:.1f} |"
                f" {r['sequences_per_s']:.1f} | {r.get('vs_fp32', float('nan')):.2f} |")
        if args.reference:
            line += f" {r['vs_reference']:.2f} |"
        if args.baseline:
            line += f" {r['vs_baseline']:.2f} |" if "vs_baseline" in r else " |"
        print(line)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"load_before": load_before, "load_after": load_after, "rows": rows}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
