#!/usr/bin/env python3
"""The mixed-precision results table of docs/mixed_precision.md, for one model, from squish's CLI alone.

  python3 bench/mixed_precision_table.py --model_dir ../shared/models/minilm-l6-sst2 --task sst2 \
      --work /tmp/mp-sst2 [--max_length 128] [--calib_size 5000] [--max_samples 0] [--variants ...]

1. `squish mixed-precision` (PWCCA, layer granularity, k-means, round-to-nearest) writes the sensitivity
   of every encoder layer and the word embeddings at 2/4/8/16 bits, the fp32 score and the k-means model;
   as the table was first made: each layer measured at its own output, k-means on the 2-bit score
   (`--compare layer --cluster_on score`; bench/allocation_choices.py measures the other choices);
2. every other variant is `squish allocate` on that same sensitivity.json, `squish quantize --plan`
   (round-to-nearest or GPTQ) and `squish eval` of the saved model read back from disk;
3. `squish bench --model_dir` times each saved model at batch 1 (median of --runs forwards of one
   sequence of --bench_seq tokens) beside the fp32 model in the same script, with its peak resident memory.
Writes <work>/table.md and <work>/table.json (one row per variant) and prints the table.
--latency_only re-times the models of an earlier run in <work> (on a quieter machine) and rewrites the table.
"""
import argparse
import json
import os
import subprocess

from squish_cli import SQUISH, load, run


# name, allocate flags, rounding
VARIANTS = {
    "uniform-8": (["--allocation", "uniform", "--uniform_bits", "8"], "nearest"),
    "uniform-4": (["--allocation", "uniform", "--uniform_bits", "4"], "nearest"),
    "uniform-4-gptq": (["--allocation", "uniform", "--uniform_bits", "4"], "gptq"),
    "kmeans": (None, "nearest"),  # the mixed-precision run itself
    "percentile": (["--allocation", "percentile"], "nearest"),
    "budget-6x": (["--allocation", "budget", "--target_compression", "6"], "nearest"),
    "budget-6x-gptq": (["--allocation", "budget", "--target_compression", "6"], "gptq"),
    "budget-8x": (["--allocation", "budget", "--target_compression", "8"], "nearest"),
    "budget-8x-gptq": (["--allocation", "budget", "--target_compression", "8"], "gptq"),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--work", required=True, help="folder for the run folders and models (must not exist)")
    p.add_argument("--data_dir", default="../shared/data")
    p.add_argument("--max_length", type=int, default=128)
    p.add_argument("--calib_size", type=int, default=5000)
    p.add_argument("--max_samples", type=int, default=0, help="evaluation subset (0: the whole split)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--bench_seq", type=int, default=128)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--squish", default=SQUISH, help="the squish binary (default: build/squish)")
    p.add_argument("--latency_only", action="store_true", help="re-time the models of an earlier run in --work")
    a = p.parse_args()
    if not a.latency_only:
        os.makedirs(a.work)
    common = ["--task", a.task, "--data_dir", a.data_dir, "--max_length", str(a.max_length)]
    samples = ["--max_samples", str(a.max_samples)] if a.max_samples else []
    mp = os.path.join(a.work, "kmeans")

    def bench(model_dir, name):
        out = os.path.join(a.work, f"bench-{name}.json")
        run([a.squish, "bench", "--model_dir", model_dir, "--batch", "1", "--seq", str(a.bench_seq), "--runs", str(a.runs),
             "--output", out], stdout=subprocess.DEVNULL)
        return load(out)

    def model_dir_of(name):
        return a.model_dir if name == "fp32" else os.path.join(mp, "model") if name == "kmeans" else os.path.join(a.work, name)

    if a.latency_only:
        earlier = load(os.path.join(a.work, "table.json"))
        rows = earlier["rows"]
        for r in rows:
            r["bench"] = bench(model_dir_of(r["variant"]), r["variant"])
        write_table(a, rows, load(os.path.join(mp, "results.json")), earlier["sensitivity_timing"])
        return
    run([a.squish, "mixed-precision", "--model_dir", a.model_dir, "--output_dir", mp, "--calib_size", str(a.calib_size),
         "--compare", "layer", "--cluster_on", "score"] + common + samples)
    results = load(os.path.join(mp, "results.json"))
    sensitivity = os.path.join(mp, "sensitivity.json")

    fp32 = results["fp32"]
    rows = [{"variant": "fp32", "metric": fp32["metric"]["value"], "file_bytes": fp32["file_bytes"],
             "compression": fp32["compression_vs_fp32"], "average_bits": 32.0, "bench": bench(a.model_dir, "fp32")}]
    for name in a.variants:
        flags, rounding = VARIANTS[name]
        model_dir = model_dir_of(name)
        if flags is None:
            score = results["quantized"]
        else:
            plan = os.path.join(a.work, f"plan-{name}.json")
            run([a.squish, "allocate", "--sensitivity", sensitivity, "--output", plan] + flags, stdout=subprocess.DEVNULL)
            run([a.squish, "quantize", "--model_dir", a.model_dir, "--plan", plan, "--rounding", rounding,
                 "--output_dir", model_dir] + common, stdout=subprocess.DEVNULL)
            out = os.path.join(a.work, f"eval-{name}.json")
            run([a.squish, "eval", "--model_dir", model_dir, "--split", results["request"]["split"], "--output", out]
                + common + samples, stdout=subprocess.DEVNULL)
            e = load(out)
            score = {"metric": {"value": e["task_metric"]["value"]}, "file_bytes": e["model"]["weights_file_bytes"],
                     "compression_vs_fp32": e["model"]["compression_vs_fp32"], "average_bits": e["model"]["average_bits"]}
        rows.append({"variant": name, "metric": score["metric"]["value"], "file_bytes": score["file_bytes"],
                     "compression": score["compression_vs_fp32"], "average_bits": score["average_bits"],
                     "bench": bench(model_dir, name)})
    write_table(a, rows, results, load(sensitivity)["timing"])


def write_table(a, rows, results, sensitivity_timing):
    base_ms = rows[0]["bench"]["median_ms"]
    lines = [f"{os.path.basename(os.path.normpath(a.model_dir))}, {a.task} {results['request']['split']} "
             f"({'all' if not a.max_samples else a.max_samples} examples, max_length {a.max_length}); latency: batch 1 x "
             f"{a.bench_seq} tokens, {rows[0]['bench']['threads']} threads, load average {os.getloadavg()[0]:.2f} "
             "when the table was written",
             "",
             "| variant | metric | change (points) | size on disk | compression | avg bits | latency ms (vs fp32) | peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b = r["bench"]
        lines.append(f"| {r['variant']} | {r['metric']:.4f} | {100 * (r['metric'] - rows[0]['metric']):+.2f} | "
                     f"{r['file_bytes'] / 1e6:.2f} MB | {r['compression']:.2f}x | {r['average_bits']:.2f} | "
                     f"{b['median_ms']:.2f} ({b['median_ms'] / base_ms:.2f}x) | {b['peak_resident_bytes'] / 1e6:.0f} MB |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(a.work, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(a.work, "table.json"), "w") as f:
        json.dump({"model_dir": a.model_dir, "task": a.task, "max_length": a.max_length, "calib_size": a.calib_size,
                   "max_samples": a.max_samples, "rows": rows,
                   "sensitivity_timing": sensitivity_timing}, f, indent=1)
    print(table)


if __name__ == "__main__":
    main()
