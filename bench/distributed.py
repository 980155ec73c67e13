#!/usr/bin/env python3
"""squish's data-parallel commands at 1, 2 and 3 processes on this machine (issue 19).

Each command runs in one process (all cores), then under `mpirun -np 2` and `-np 3` (3 oversubscribes 2
cores), in interleaved rounds because the machine is shared and drifts. From each run's JSON: the compute
time (the command's own timing: forward or calibration seconds, rank 0's share plus its wait at the gather)
and what the collectives moved (calls, bytes gathered into a rank, seconds inside them); from the clock:
the wall time of the whole launch (mpirun's start and MPI_Init included). Each figure is the median of
its rounds. Also checks that every run's predictions equal one process's, byte for byte.

docs/distributed.md turns these figures into a model of larger runs.

Usage: python3 bench/distributed.py --squish build/squish [--shared ../shared] [--gguf SmolLM2.gguf]
       [--rounds 3] [--output bench/results/distributed.json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

RANKS = (1, 2, 3)


def commands(shared, gguf):
    data = os.path.join(shared, "data")
    minilm = os.path.join(shared, "models", "minilm-l6-sst2")
    out = [
        ("eval MiniLM SST-2 dev (872)", "eval", ["eval", "--task", "sst2", "--model_dir", minilm, "--data_dir", data],
         ("timing", "forward_seconds")),
        ("eval MiniLM IMDB test (500)", "eval",
         ["eval", "--task", "imdb", "--max_samples", "500", "--model_dir",
          os.path.join(shared, "models", "minilm-l6-imdb"), "--data_dir", data], ("timing", "forward_seconds")),
        ("quantize static, 512 calibration texts", "quantize",
         ["quantize", "--task", "sst2", "--calib_size", "512", "--model_dir", minilm, "--data_dir", data],
         ("seconds", "calibrate")),
    ]
    if gguf:
        out.append(("hellaswag SmolLM2 (40 items)", "eval",
                    ["eval", "--task", "hellaswag", "--max_samples", "40", "--model_dir", gguf, "--data_dir", data],
                    ("timing", "seconds")))
    return out


def run_once(squish, ranks, args, kind, tmp):
    json_out = os.path.join(tmp, f"r{ranks}.json")
    pred = os.path.join(tmp, f"r{ranks}.jsonl")
    argv = [squish] + args
    if kind == "eval":
        argv += ["--output", json_out, "--predictions", pred]
    else:
        model = os.path.join(tmp, f"model{ranks}")
        subprocess.run(["rm", "-rf", model], check=True)
        argv += ["--output_dir", model, "--output", json_out]
    if ranks > 1:
        argv = ["mpirun", "-np", str(ranks)] + argv
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    with open(json_out) as f:
        doc = json.load(f)
    result = pred if kind == "eval" else os.path.join(tmp, f"model{ranks}", "model.safetensors")
    with open(result, "rb") as f:
        produced = f.read()
    return wall, doc, produced


def compute_seconds(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--squish", default="build/squish")
    p.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    p.add_argument("--gguf", default="")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--output", default="")
    a = p.parse_args()
    rows = []
    for name, kind, args, key in commands(a.shared, a.gguf):
        samples = {r: [] for r in RANKS}
        with tempfile.TemporaryDirectory() as tmp:
            reference = None
            for _ in range(a.rounds):
                for ranks in RANKS:
                    wall, doc, produced = run_once(a.squish, ranks, args, kind, tmp)
                    if reference is None:
                        reference = produced
                    if produced != reference:
                        sys.exit(f"{name}: {ranks} processes produced other results than one process")
                    c = doc["host"]["collectives"]
                    samples[ranks].append((wall, compute_seconds(doc, key), c["calls"], c["bytes"], c["seconds"],
                                           doc["host"]["threads"]))
        for ranks in RANKS:
            s = samples[ranks]
            med = lambda i: statistics.median(x[i] for x in s)
            rows.append({"command": name, "processes": ranks, "threads_per_process": s[0][5],
                         "wall_seconds": med(0), "compute_seconds": med(1), "collective_calls": s[0][2],
                         "bytes_gathered": s[0][3], "collective_seconds": med(4), "identical_to_one_process": True})
    one = {r["command"]: r for r in rows if r["processes"] == 1}
    print("| command | processes x threads | wall s | compute s | speed-up (compute) | collectives | bytes | "
          "collective s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = one[r["command"]]
        print(f"| {r['command']} | {r['processes']} x {r['threads_per_process']} | {r['wall_seconds']:.2f} | "
              f"{r['compute_seconds']:.2f} | {base['compute_seconds'] / r['compute_seconds']:.2f}x | "
              f"{r['collective_calls']} | {r['bytes_gathered']:,} | {r['collective_seconds']:.4f} |")
    if a.output:
        with open(a.output, "w") as f:
            json.dump({"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                                   "load_average": os.getloadavg()},
                       "rounds": a.rounds, "rows": rows}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
