#!/usr/bin/env python3
"""Does a saved model compute the same on an AVX2 machine as on an AVX-512 one? (docs/quantization.md)

For every classifier in shared/models (or --models): the fp32 model, static W8A8 (minmax, 500
calibration examples of train, seed 42), dynamic int8, static W8A8 with --reduce_range (7-bit
activations, which AVX2 runs on oneDNN's kernel) and the README's mixed-precision model
(`squish mixed-precision --allocation budget --target_compression 6`, its saved model) are each
scored with `squish eval --predictions` twice: on this machine's best ISA and with
SQUISH_ISA=avx2 DNNL_MAX_CPU_ISA=AVX2 (what an AVX2-only machine runs; on a machine without
AVX-512, --other scalar compares against the scalar path instead). Reported per model and format:
examples, predictions that agree, those that differ (and whether each is a tie within its own
|Δlogit|), and the median and max of per-example max |Δlogit|, beside the same for fp32 vs the
compressed model for scale.

Evaluation: the model's task (SST-2 dev, MRPC dev, IMDB test at --imdb_max_length, first
--imdb_limit reviews; 0 = all 25,000). Writes --output (JSON) and prints a Markdown table.

Usage: python3 bench/cross_isa.py --squish build/squish [--shared ../shared] [--output r.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def task_of(name):
    return "mrpc" if "mrpc" in name else "imdb" if "imdb" in name else "sst2"


def classifiers(shared):
    out = []
    for name in sorted(os.listdir(os.path.join(shared, "models"))):
        d = os.path.join(shared, "models", name)
        try:
            cfg = json.load(open(os.path.join(d, "config.json")))
        except (OSError, ValueError):
            continue
        has_weights = any(os.path.exists(os.path.join(d, f)) for f in ("model.safetensors", "pytorch_model.bin"))
        if has_weights and any(a.endswith("ForSequenceClassification") for a in cfg.get("architectures", [])):
            out.append(name)
    return out


def run(cmd, env=None):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r


def score(args, model_dir, task, eval_flags, other, tmp):
    env = dict(os.environ)
    if other:
        env["SQUISH_ISA"] = args.other
        env["DNNL_MAX_CPU_ISA"] = "AVX2" if args.other == "avx2" else "SSE41"
    path = os.path.join(tmp, "p.jsonl")
    run([args.squish, "eval", "--model_dir", model_dir, "--task", task, "--data_dir", args.data_dir,
         "--predictions", path] + eval_flags, env)
    rows = [json.loads(line) for line in open(path)]
    return [r["logits"] for r in rows], [r["pred"] for r in rows]


def deltas(a, b):
    return [max(abs(x - y) for x, y in zip(la, lb)) for la, lb in zip(a, b)]


def margin(logits):
    s = sorted(logits, reverse=True)
    return s[0] - s[1]


def compare(here, other, fp32):
    (lh, ph), (lo, po) = here, other
    d = deltas(lh, lo)
    differ = [i for i in range(len(ph)) if ph[i] != po[i]]
    ties = [i for i in differ if min(margin(lh[i]), margin(lo[i])) <= d[i]]
    out = {"examples": len(ph), "same_predictions": len(ph) - len(differ),
           "agreement": (len(ph) - len(differ)) / len(ph), "differing": len(differ),
           "differing_within_a_tie": len(ties), "median_abs_delta": statistics.median(d), "max_abs_delta": max(d)}
    if fp32 is not None:
        q = deltas(fp32[0], lh)
        out["fp32_vs_this_median"] = statistics.median(q)
        out["fp32_vs_this_max"] = max(q)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--squish", required=True)
    p.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    p.add_argument("--models", nargs="*")
    p.add_argument("--other", default="avx2", choices=["avx2", "scalar"])
    p.add_argument("--imdb_limit", type=int, default=2000)
    p.add_argument("--imdb_max_length", type=int, default=512)
    p.add_argument("--output")
    args = p.parse_args()
    args.data_dir = os.path.join(args.shared, "data")
    results = []
    for name in args.models or classifiers(args.shared):
        model_dir, task = os.path.join(args.shared, "models", name), task_of(name)
        max_length = args.imdb_max_length if task == "imdb" else 128
        eval_flags = ["--max_length", str(max_length)]
        if task == "imdb":
            eval_flags += ["--split", "test"] + (["--max_samples", str(args.imdb_limit)] if args.imdb_limit else [])
        with tempfile.TemporaryDirectory() as tmp:
            common = ["--model_dir", model_dir, "--task", task, "--data_dir", args.data_dir, "--max_length", "128"]
            dirs = {"fp32": model_dir}
            static = ["--mode", "static", "--calib_size", "500", "--seed", "42"]
            for fmt, flags in (("int8-static", static), ("int8-dynamic", ["--mode", "dynamic"]),
                               ("int8-static-reduced-range", static + ["--reduce_range"])):
                dirs[fmt] = os.path.join(tmp, fmt)
                run([args.squish, "quantize", "--output_dir", dirs[fmt]] + common + flags)
            mp = os.path.join(tmp, "mixed")
            run([args.squish, "mixed-precision", "--allocation", "budget", "--target_compression", "6",
                 "--output_dir", mp, "--max_samples", "1"] + common)
            dirs["mixed-6x"] = next(os.path.join(mp, d) for d in os.listdir(mp)
                                    if os.path.exists(os.path.join(mp, d, "config.json")))
            fp32 = None
            for fmt, d in dirs.items():
                here = score(args, d, task, eval_flags, False, tmp)
                other = score(args, d, task, eval_flags, True, tmp)
                if fmt == "fp32":
                    fp32 = here
                r = {"model": name, "task": task, "format": fmt, **compare(here, other, None if fmt == "fp32" else fp32)}
                results.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
    doc = {"other_isa": args.other, "imdb_limit": args.imdb_limit, "results": results}
    if args.output:
        with open(args.output + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(args.output + ".tmp", args.output)
    print(f"| model | format | examples | same predictions | differing (ties) | median / max |Δlogit| here vs {args.other} |"
          " median / max |fp32 − this| |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        q = f"{r['fp32_vs_this_median']:.3g} / {r['fp32_vs_this_max']:.3g}" if "fp32_vs_this_median" in r else "—"
        print(f"| {r['model']} | {r['format']} | {r['examples']} | {r['same_predictions']} ({100 * r['agreement']:.2f}%) |"
              f" {r['differing']} ({r['differing_within_a_tie']}) | {r['median_abs_delta']:.3g} / {r['max_abs_delta']:.3g} | {q} |")


if __name__ == "__main__":
    main()
