#!/usr/bin/env python3
"""SmolLM2-135M-Instruct: squish against PyTorch eager and ONNX Runtime, side by side (issue 18).

1. Forward throughput at batch B x T random ids (default 4 x 128), every position's next-token
   log-probability: `squish bench` (target_logprobs on every position), PyTorch eager (transformers
   LlamaForCausalLM from the same GGUF, fp32, logits then log_softmax) and ONNX Runtime (the same
   module exported with torch.onnx's dynamo exporter, CPU provider). Same thread count for all.
2. HellaSwag items/s on the first --items items of the shared lm-eval file: `squish eval --task
   hellaswag` (each context once, its endings as branches) against the harness's method as
   tools/hellaswag_reference.py writes it (transformers, one sequence per ending, batch 1), and the
   same method on ONNX Runtime (the module exported again with a dynamic batch and length; each
   ending's log-likelihood summed from its log-probabilities, as the harness does).

Rounds are interleaved (squish, torch, ORT, squish, ...) because the machine is shared and its speed
drifts; each figure is the median of its rounds, and the ratios are of medians. Prints a Markdown
table and writes --output JSON.

Usage: python3 bench/causal_lm_speed.py --squish build/squish --gguf FILE.gguf [--rounds 3]
       [--threads 2] [--items 40] [--output bench/results/causal_lm_speed.json]
"""
import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))


def squish_forward_ms(a):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([a.squish, "bench", "--model_dir", a.gguf, "--batch", str(a.batch), "--seq", str(a.seq),
                        "--runs", "5", "--threads", str(a.threads), "--output", out.name], check=True,
                       stdout=subprocess.DEVNULL)
        return json.load(open(out.name))["median_ms"]


def median_ms(fn, runs=5, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


class LogProbs(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return torch.log_softmax(self.model(input_ids=ids, use_cache=False).logits, -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--squish", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--output")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import onnxruntime as ort
    import transformers
    from hellaswag_reference import Scorer, process_doc

    scorer = Scorer(a.gguf)  # the harness's method, and the PyTorch model
    module = LogProbs(scorer.model).eval()
    ids = torch.randint(0, scorer.model.config.vocab_size, (a.batch, a.seq), generator=torch.Generator().manual_seed(0))
    onnx_dir = tempfile.mkdtemp()
    onnx_path = os.path.join(onnx_dir, "smollm2.onnx")
    torch.onnx.export(module, (ids,), onnx_path, input_names=["ids"], output_names=["logp"], dynamo=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    feed = {"ids": ids.numpy().astype(np.int64)}
    dynamic_path = os.path.join(onnx_dir, "smollm2_dynamic.onnx")
    torch.onnx.export(module, (ids,), dynamic_path, input_names=["ids"], output_names=["logp"], dynamo=True,
                      dynamic_shapes={"ids": {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq", max=2048)}})
    dynamic_session = ort.InferenceSession(dynamic_path, so, providers=["CPUExecutionProvider"])

    with gzip.open(os.path.join(a.shared, "data/hellaswag/hellaswag_val_lmeval.jsonl.gz"), "rt") as f:
        docs = [process_doc(json.loads(next(f))) for _ in range(a.items)]
    items_file = os.path.join(onnx_dir, "items.jsonl")
    with open(items_file, "w") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")

    def squish_items_per_second():
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run([a.squish, "eval", "--task", "hellaswag", "--model_dir", a.gguf, "--data_file", items_file,
                            "--threads", str(a.threads), "--output", out.name], check=True, stdout=subprocess.DEVNULL)
            return json.load(open(out.name))["timing"]["items_per_second"]

    def harness_items_per_second():
        t = time.perf_counter()
        for d in docs:
            for c in d["choices"]:
                scorer.loglikelihood(d["query"], " " + c)
        return len(docs) / (time.perf_counter() - t)

    def ort_items_per_second():
        t = time.perf_counter()
        for d in docs:
            for c in d["choices"]:
                item_ids, continuation = scorer.encode_pair(d["query"], " " + c)
                logp = dynamic_session.run(None, {"ids": np.array([item_ids], dtype=np.int64)})[0][0]
                n = len(continuation)
                float(sum(logp[len(item_ids) - n + i, token] for i, token in enumerate(continuation)))
        return len(docs) / (time.perf_counter() - t)

    rows = {"squish": [], "torch": [], "ort": [], "squish_hs": [], "harness_hs": [], "ort_hs": []}
    with torch.no_grad():
        for r in range(a.rounds):
            rows["squish"].append(squish_forward_ms(a))
            rows["torch"].append(median_ms(lambda: module(ids)))
            rows["ort"].append(median_ms(lambda: session.run(None, feed)))
            rows["squish_hs"].append(squish_items_per_second())
            rows["harness_hs"].append(harness_items_per_second())
            rows["ort_hs"].append(ort_items_per_second())
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rows.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in rows.items()}
    tokens = a.batch * a.seq
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": a.threads,
                    "isa": os.environ.get("SQUISH_ISA", "best")},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "onnxruntime": ort.__version__},
        "shape": [a.batch, a.seq], "rounds": rows, "medians": med,
        "tokens_per_second": {k: tokens / (med[k] / 1e3) for k in ("squish", "torch", "ort")},
        "squish_vs_torch": med["torch"] / med["squish"], "squish_vs_ort": med["ort"] / med["squish"],
        "hellaswag_items": a.items, "hellaswag_items_per_second": {"squish": med["squish_hs"],
                                                                   "harness": med["harness_hs"],
                                                                   "ort": med["ort_hs"]},
        "hellaswag_squish_vs_harness": med["squish_hs"] / med["harness_hs"],
        "hellaswag_squish_vs_ort": med["squish_hs"] / med["ort_hs"],
    }
    print(f"| SmolLM2 {a.batch}x{a.seq}, {a.threads} threads | ms (median of {a.rounds}) | tokens/s | squish vs |")
    print("|---|---|---|---|")
    for k, name in (("squish", "squish"), ("torch", "PyTorch eager"), ("ort", "ONNX Runtime")):
        ratio = "" if k == "squish" else f"{med[k] / med['squish']:.2f}x"
        print(f"| {name} | {med[k]:.1f} | {result['tokens_per_second'][k]:.0f} | {ratio} |")
    print(f"| HellaSwag items/s ({a.items} items) | squish {med['squish_hs']:.2f} | harness method "
          f"{med['harness_hs']:.2f} | {result['hellaswag_squish_vs_harness']:.2f}x |")
    print(f"| HellaSwag items/s ({a.items} items) | squish {med['squish_hs']:.2f} | harness method on ONNX Runtime "
          f"{med['ort_hs']:.2f} | {result['hellaswag_squish_vs_ort']:.2f}x |")
    if a.output:
        with open(a.output, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
