#!/usr/bin/env python3
"""Issue 23's table for one model: every way to run the study's k-means (and percentile) allocation, and the
budget method at 8x, scored on the full evaluation split from squish's CLI alone (docs/allocation.md).

  python3 bench/allocation_choices.py --model_dir ../shared/models/minilm-l6-sst2 --task sst2 --work /tmp/ac-sst2 \
      [--max_length 128] [--calib_size 5000] [--single_unit]

1. `squish sensitivity` (PWCCA, layer granularity, 2/4/8/16 bits, calibration on train) twice: at each layer's
   own output (--compare layer) and at the last layer's [CLS] rows (--compare final); a run folder already in
   <work>/sens-<compare> is reused, and so is the fp32 model's <work>/eval-fp32.json;
2. per sensitivity: `squish allocate --allocation kmeans --cluster_on score|log_score|log_profile`, `percentile`,
   and `budget --target_compression 8`; each plan through `squish quantize --plan` (budget also with
   --rounding gptq, 500 calibration examples) and `squish eval` of the saved model;
3. --single_unit: the ground truth the scores should rank, each unit alone at 2 and at 4 bits (the others fp16).
Writes <work>/table.md and <work>/table.json and prints the table.
"""
import argparse
import copy
import json
import os
import subprocess

from squish_cli import SQUISH, load, run

KMEANS_SPACES = ("score", "log_score", "log_profile")
FORMATS = {2: "int2-g64", 4: "int4-g64", 8: "int8-dynamic", 16: "f16"}
BUDGET_8X = ["--allocation", "budget", "--target_compression", "8"]
# label: allocate flags, rounding
ALLOCATIONS = {**{f"kmeans {space}": (["--allocation", "kmeans", "--cluster_on", space], "nearest")
                  for space in KMEANS_SPACES},
               "percentile": (["--allocation", "percentile"], "nearest"),
               "budget 8x": (BUDGET_8X, "nearest"),
               "budget 8x gptq": (BUDGET_8X, "gptq")}


def short_plan(plan):
    """encoder.layer.N -> LN, the widths of a layer's Linears (one per unit at layer granularity), emb last."""
    units = {}
    for name, fmt in plan["linears"].items():
        units.setdefault(".".join(name.split(".")[:3]).replace("encoder.layer.", "L"), fmt)
    units["emb"] = plan["embeddings"]
    return " ".join(f"{u}:{f.split('-')[0].replace('int', '')}" for u, f in units.items())


def ranks(values):
    """Ranks from 1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--work", required=True, help="folder for run folders, plans and models (reused when it exists)")
    p.add_argument("--data_dir", default="../shared/data")
    p.add_argument("--max_length", type=int, default=128)
    p.add_argument("--calib_size", type=int, default=5000)
    p.add_argument("--compare", nargs="+", default=["layer", "final"], choices=["layer", "final"])
    p.add_argument("--allocations", nargs="+", default=list(ALLOCATIONS), choices=list(ALLOCATIONS),
                   help="rows to make (IMDB's full test split takes minutes a row)")
    p.add_argument("--single_unit", action="store_true", help="also score every unit alone at 2 and 4 bits")
    p.add_argument("--squish", default=SQUISH)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    common = ["--task", a.task, "--data_dir", a.data_dir, "--max_length", str(a.max_length)]

    def evaluate(model_dir, name, reuse=False):
        out = os.path.join(a.work, f"eval-{name}.json")
        if not (reuse and os.path.exists(out)):
            run([a.squish, "eval", "--model_dir", model_dir, "--output", out] + common, stdout=subprocess.DEVNULL)
        e = load(out)
        return {"metric": e["task_metric"]["value"], "compression": e["model"]["compression_vs_fp32"],
                "file_bytes": e["model"]["weights_file_bytes"]}

    def quantized(plan, name, rounding="nearest"):
        model_dir = os.path.join(a.work, f"model-{name}")
        run(["rm", "-rf", model_dir])
        extra = ["--rounding", "gptq", "--calib_size", "500"] if rounding == "gptq" else []
        run([a.squish, "quantize", "--model_dir", a.model_dir, "--plan", plan, "--output_dir", model_dir] + common + extra,
            stdout=subprocess.DEVNULL)
        row = evaluate(model_dir, name)
        run(["rm", "-rf", model_dir])
        row["plan"] = short_plan(load(plan))
        return row

    fp32 = evaluate(a.model_dir, "fp32", reuse=True)
    rows = []
    for compare in a.compare:
        sens = os.path.join(a.work, f"sens-{compare}")
        if not os.path.exists(os.path.join(sens, "sensitivity.json")):
            run([a.squish, "sensitivity", "--model_dir", a.model_dir, "--output_dir", sens, "--calib_size",
                 str(a.calib_size), "--similarity", "pwcca", "--granularity", "layer", "--bits", "2", "4", "8", "16",
                 "--compare", compare] + common, stdout=subprocess.DEVNULL)
        for label in a.allocations:
            flags, rounding = ALLOCATIONS[label]
            name = f"{compare}-{label.replace(' ', '-')}"
            plan = os.path.join(a.work, f"plan-{name}.json")
            run([a.squish, "allocate", "--sensitivity", os.path.join(sens, "sensitivity.json"), "--output", plan] + flags,
                stdout=subprocess.DEVNULL)
            rows.append({"compare": compare, "allocation": label, **quantized(plan, name, rounding)})

    single = {}
    if a.single_unit:
        base = load(os.path.join(a.work, f"plan-{a.compare[0]}-{a.allocations[0].replace(' ', '-')}.json"))
        units = sorted({".".join(n.split(".")[:3]) for n in base["linears"]}) + ["embeddings"]
        for unit in units:
            for bits in (2, 4):
                plan = copy.deepcopy(base)
                for n in plan["linears"]:
                    plan["linears"][n] = FORMATS[bits] if n.startswith(unit + ".") else "f16"
                plan["embeddings"] = FORMATS[bits] if unit == "embeddings" else "f16"
                path = os.path.join(a.work, f"plan-single-{unit}-{bits}.json")
                with open(path, "w") as f:
                    json.dump(plan, f)
                single[f"{unit} {bits}"] = quantized(path, f"single-{unit}-{bits}")["metric"]

    lines = [f"{os.path.basename(os.path.normpath(a.model_dir))}, {a.task}: fp32 {fp32['metric']:.4f}; "
             f"calibration {a.calib_size} train examples, max_length {a.max_length}", "",
             "| sensitivity at | allocation | metric | change (points) | compression | plan |", "|---|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['compare']} | {r['allocation']} | {r['metric']:.4f} | "
                     f"{100 * (r['metric'] - fp32['metric']):+.2f} | {r['compression']:.2f}x | {r['plan']} |")
    agreement = {}
    if single:
        lines += ["", "| unit alone (others fp16) | metric | change (points) |", "|---|---:|---:|"]
        lines += [f"| {k} bits | {v:.4f} | {100 * (v - fp32['metric']):+.2f} |" for k, v in single.items()]
        # How well each measurement ranks the units by the damage 2 bits do to them alone.
        damage = {k[:-2]: fp32["metric"] - v for k, v in single.items() if k.endswith(" 2")}
        for compare in a.compare:
            units = load(os.path.join(a.work, f"sens-{compare}", "sensitivity.json"))["units"]
            scores = {u["name"]: u["widths"][0]["sensitivity"] for u in units}
            names = sorted(damage)
            agreement[compare] = spearman([scores[n] for n in names], [damage[n] for n in names])
        lines += [""] + [f"Spearman correlation of the 2-bit sensitivity at the {c} representation with the "
                         f"units' own 2-bit damage: {r:+.2f}" for c, r in agreement.items()]
    table = "\n".join(lines) + "\n"
    with open(os.path.join(a.work, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(a.work, "table.json"), "w") as f:
        json.dump({"model_dir": a.model_dir, "task": a.task, "max_length": a.max_length, "calib_size": a.calib_size,
                   "fp32": fp32, "rows": rows, "single_unit": single, "spearman_2bit": agreement}, f, indent=1)
    print(table)


if __name__ == "__main__":
    main()
