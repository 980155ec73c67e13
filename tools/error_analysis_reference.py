#!/usr/bin/env python3
"""Independent recomputation of `squish compare` and `squish glue-score` from real predictions, with
pandas, scikit-learn and scipy (the notebook route users take today), for tests/fixtures/compare.

Inputs are files of `squish eval --predictions` (one {"index", "label", "pred", "logits"} per line).
From a reference and a compressed predictions file of the same examples it computes: the breakdown
(both right, both wrong, only reference wrong, only compressed wrong; also per gold label) with
pandas.crosstab, the agreement matrix (sklearn.metrics.confusion_matrix of reference pred against
compressed pred), accuracies (sklearn), mean confidence of the predicted class on correct and wrong
examples, Pearson and Spearman (scipy.stats, average ranks for ties) of the two models' softmax
probability of class 1, and logit drift (mean/max |dlogit|, mean/max KL(p_ref || p_cmp) via
scipy.special.log_softmax). For the GLUE score it takes METHOD=SST2_PREDICTIONS,MRPC_PREDICTIONS
pairs: SST-2 accuracy and MRPC F1 (label 1 positive, sklearn.metrics.f1_score) and their mean.

Writes the golden JSON (with the versions used) to --output; with --compare_json and/or
--glue_json (squish's outputs) it also checks squish's numbers against its own and exits 1 on a
difference: counts exactly, real numbers within 1e-9 (both sides compute in float64 from the same
float32 logits; only exp/log rounding differs).

  python3 tools/error_analysis_reference.py \
    --reference tests/fixtures/compare/fp32_sst2.predictions.jsonl \
    --compressed tests/fixtures/compare/int8_sst2.predictions.jsonl \
    --glue fp32=tests/fixtures/compare/fp32_sst2.predictions.jsonl,tests/fixtures/compare/fp32_mrpc.predictions.jsonl \
    --glue int8-dynamic=tests/fixtures/compare/int8_sst2.predictions.jsonl,tests/fixtures/compare/int8_mrpc.predictions.jsonl \
    --compare_json OUT/compare.json --glue_json glue.json --output tests/fixtures/compare/reference_golden.json
"""
import argparse
import json
import math
import platform
import sys

import numpy as np
import pandas as pd
import scipy
import scipy.special
import scipy.stats
import sklearn
import sklearn.metrics

OUTCOMES = ["both_right", "both_wrong", "only_reference_wrong", "only_compressed_wrong"]
TOL = 1e-9


def read_predictions(path):
    frame = pd.read_json(path, lines=True, dtype=False)
    frame["logits"] = frame["logits"].apply(lambda v: np.asarray(v, dtype=np.float32).astype(np.float64))
    return frame


def outcome(ref_right, cmp_right):
    if ref_right:
        return "both_right" if cmp_right else "only_compressed_wrong"
    return "only_reference_wrong" if cmp_right else "both_wrong"


def compare(ref, cmp):
    assert (ref["index"].values == cmp["index"].values).all() and (ref["label"].values == cmp["label"].values).all()
    lr = np.stack(ref["logits"].values)
    lc = np.stack(cmp["logits"].values)
    num_labels = lr.shape[1]
    gold = ref["label"].values
    pr, pc = ref["pred"].values, cmp["pred"].values
    log_pr, log_pc = scipy.special.log_softmax(lr, axis=1), scipy.special.log_softmax(lc, axis=1)
    prob_r, prob_c = np.exp(log_pr), np.exp(log_pc)
    conf_r = prob_r[np.arange(len(pr)), pr]
    conf_c = prob_c[np.arange(len(pc)), pc]
    frame = pd.DataFrame({"gold": gold, "outcome": [outcome(a == g, b == g) for a, b, g in zip(pr, pc, gold)]})
    by_label = pd.crosstab(frame["gold"], frame["outcome"]).reindex(columns=OUTCOMES, fill_value=0)
    kl = (prob_r * (log_pr - log_pc)).sum(axis=1)
    delta = np.abs(lc - lr)

    def confidence(pred, conf):
        right = pred == gold
        return {"mean": float(conf.mean()), "mean_correct": float(conf[right].mean()) if right.any() else None,
                "mean_wrong": float(conf[~right].mean()) if (~right).any() else None,
                "correct": int(right.sum()), "wrong": int((~right).sum())}

    return {
        "examples": int(len(ref)),
        "accuracy": {"reference": float(sklearn.metrics.accuracy_score(gold, pr)),
                     "compressed": float(sklearn.metrics.accuracy_score(gold, pc))},
        "breakdown": {name: int((frame["outcome"] == name).sum()) for name in OUTCOMES},
        "breakdown_by_label": {str(g): {name: int(by_label.loc[g, name]) for name in OUTCOMES} for g in by_label.index},
        "agreement": sklearn.metrics.confusion_matrix(pr, pc, labels=list(range(num_labels))).tolist(),
        "flips": int((pr != pc).sum()),
        "confidence": {"reference": confidence(pr, conf_r), "compressed": confidence(pc, conf_c)},
        "pearson_p1": float(scipy.stats.pearsonr(prob_r[:, 1], prob_c[:, 1])[0]),
        "spearman_p1": float(scipy.stats.spearmanr(prob_r[:, 1], prob_c[:, 1])[0]),
        "drift": {"mean_abs_logit_delta": float(delta.mean()), "max_abs_logit_delta": float(delta.max()),
                  "mean_kl": float(kl.mean()), "max_kl": float(kl.max())},
    }


def glue(pairs):
    methods = []
    for pair in pairs:
        method, files = pair.split("=", 1)
        sst2_path, mrpc_path = files.split(",")
        sst2, mrpc = read_predictions(sst2_path), read_predictions(mrpc_path)
        acc = float(sklearn.metrics.accuracy_score(sst2["label"], sst2["pred"]))
        f1 = float(sklearn.metrics.f1_score(mrpc["label"], mrpc["pred"], pos_label=1, zero_division=0))
        methods.append({"method": method, "sst2_accuracy": acc, "mrpc_f1": f1, "glue_score": (acc + f1) / 2})
    return methods


class Checker:
    def __init__(self):
        self.failures = 0

    def same(self, what, ours, theirs):
        if ours is None or theirs is None:
            ok = ours is None and theirs is None
        elif isinstance(ours, (int, np.integer)) and not isinstance(ours, bool):
            ok = int(ours) == int(theirs)
        elif isinstance(ours, float):
            ok = math.isclose(ours, float(theirs), rel_tol=0, abs_tol=TOL)
        else:
            ok = ours == theirs
        if not ok:
            self.failures += 1
            print(f"MISMATCH {what}: reference {ours!r}, squish {theirs!r}")


def check_compare(g, squish, check):
    check.same("examples", g["examples"], squish["data"]["examples"])
    for side in ("reference", "compressed"):
        m = squish["models"][side]
        check.same(f"{side} accuracy", g["accuracy"][side], m["accuracy"])
        for key, value in g["confidence"][side].items():
            check.same(f"{side} confidence {key}", value, m["confidence"][key])
    for name in OUTCOMES:
        check.same(f"breakdown {name}", g["breakdown"][name], squish["breakdown"][name])
    for row in squish["breakdown"]["by_label"]:
        for name in OUTCOMES:
            check.same(f"breakdown label {row['label']} {name}", g["breakdown_by_label"][str(row["label"])][name], row[name])
    check.same("agreement", g["agreement"], squish["agreement"]["counts"])
    check.same("flips", g["flips"], squish["agreement"]["flips"])
    check.same("pearson", g["pearson_p1"], squish["correlation"]["pearson"])
    check.same("spearman", g["spearman_p1"], squish["correlation"]["spearman"])
    for key, value in g["drift"].items():
        check.same(f"drift {key}", value, squish["drift"][key])


def check_glue(methods, squish, check):
    theirs = {m["method"]: m for m in squish["methods"]}
    for m in methods:
        for key in ("sst2_accuracy", "mrpc_f1", "glue_score"):
            check.same(f"glue {m['method']} {key}", m[key], theirs.get(m["method"], {}).get(key))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--compressed", required=True)
    ap.add_argument("--glue", action="append", default=[], help="METHOD=SST2_PREDICTIONS,MRPC_PREDICTIONS")
    ap.add_argument("--compare_json")
    ap.add_argument("--glue_json")
    ap.add_argument("--output")
    args = ap.parse_args()
    golden = {
        "tool": "tools/error_analysis_reference.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
                     "scikit-learn": sklearn.__version__, "scipy": scipy.__version__},
        "inputs": {"reference": args.reference, "compressed": args.compressed, "glue": args.glue},
        "tolerance": TOL,
        "compare": compare(read_predictions(args.reference), read_predictions(args.compressed)),
        "glue": glue(args.glue),
    }
    if args.output:
        with open(args.output, "w") as f:
            json.dump(golden, f, indent=2)
            f.write("\n")
    check = Checker()
    if args.compare_json:
        with open(args.compare_json) as f:
            check_compare(golden["compare"], json.load(f), check)
    if args.glue_json:
        with open(args.glue_json) as f:
            check_glue(golden["glue"], json.load(f), check)
    if args.compare_json or args.glue_json:
        print("squish agrees with the reference" if check.failures == 0 else f"{check.failures} mismatches")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
