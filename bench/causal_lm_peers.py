#!/usr/bin/env python3
"""SmolLM2-135M-Instruct compressed by squish against the peers' int8 on the same model and items (issue 22).

Peers: PyTorch's dynamic int8 (`torch.ao.quantization.quantize_dynamic` on every nn.Linear, the tied LM head
included) and ONNX Runtime's (`onnxruntime.quantization.quantize_dynamic`, QInt8 weights, of the module
bench/causal_lm_speed.py exports, dynamic batch and length), both of transformers' model dequantized from the
same GGUF, beside their fp32.

1. Accuracy: HellaSwag acc and acc_norm on the seeded subset `squish eval --task hellaswag --max_samples N`
   takes (its predictions' "index" gives the items): squish's models by `squish eval`; the peers by the harness's
   method (tools/hellaswag_reference.py: one sequence per ending, summed log-probabilities in float64).
2. Speed: forward ms at batch 1 x 128 and 4 x 128 random ids, every position's next-token log-probability:
   `squish bench` for the GGUF (fp32) and each --models directory; PyTorch and ONNX Runtime fp32 and int8.
   Rounds interleaved (the machine is shared and drifts); each figure the median of its rounds; ratios of
   medians against squish's own fp32 and against the peers' int8.

Prints Markdown tables; --output writes JSON.

Usage: python3 bench/causal_lm_peers.py --squish build/squish --gguf FILE.gguf
       [--models w8a8_sq=DIR w4g64_gptq=DIR ...] [--items 200] [--rounds 3] [--threads 2] [--output F.json]
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SHAPES = ((1, 128), (4, 128))


def squish_forward_ms(a, model_dir, batch, seq):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([a.squish, "bench", "--model_dir", model_dir, "--batch", str(batch), "--seq", str(seq),
                        "--runs", "5", "--threads", str(a.threads), "--output", out.name], check=True,
                       stdout=subprocess.DEVNULL)
        return json.load(open(out.name))["median_ms"]


def squish_hellaswag(a, model_dir, predictions):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([a.squish, "eval", "--task", "hellaswag", "--model_dir", model_dir, "--max_samples",
                        str(a.items), "--data_dir", os.path.join(a.shared, "data"), "--threads", str(a.threads),
                        "--output", out.name, "--predictions", predictions], check=True, stdout=subprocess.DEVNULL)
        r = json.load(open(out.name))
        return {"acc": r["acc"], "acc_norm": r["acc_norm"], "items_per_second": r["timing"]["items_per_second"]}


def harness_scores(docs, loglikelihood):
    """acc and acc_norm as the harness computes them from summed log-likelihoods (first on ties)."""
    acc = acc_norm = 0
    t = time.perf_counter()
    for d in docs:
        lls = [loglikelihood(d["query"], " " + c) for c in d["choices"]]
        norm = [ll / len(" " + c) for ll, c in zip(lls, d["choices"])]
        acc += int(np.argmax(lls)) == d["gold"]
        acc_norm += int(np.argmax(norm)) == d["gold"]
    seconds = time.perf_counter() - t
    return {"acc": acc / len(docs), "acc_norm": acc_norm / len(docs), "items_per_second": len(docs) / seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--squish", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--models", nargs="*", default=[], help="NAME=DIR of squish's compressed models")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--output")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import onnxruntime as ort
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from causal_lm_speed import LogProbs, median_ms
    from hellaswag_reference import Scorer, process_doc

    squish_models = {"fp32": a.gguf}
    squish_models.update(dict(m.split("=", 1) for m in a.models))
    work = tempfile.mkdtemp()

    # The items: the seeded subset squish scores, by position in the file.
    scores = {}
    for name, model_dir in squish_models.items():
        predictions = os.path.join(work, name + ".predictions.jsonl")
        scores["squish " + name] = squish_hellaswag(a, model_dir, predictions)
        print(f"squish {name}: {scores['squish ' + name]}", file=sys.stderr)
    positions = [json.loads(line)["index"] for line in open(os.path.join(work, "fp32.predictions.jsonl"))]
    with gzip.open(os.path.join(a.shared, "data/hellaswag/hellaswag_val_lmeval.jsonl.gz"), "rt") as f:
        all_docs = [process_doc(json.loads(line)) for line in f]
    docs = [all_docs[i] for i in positions]

    scorer = Scorer(a.gguf)
    fp32_module = LogProbs(scorer.model).eval()
    # quantize_dynamic returns a quantized copy (inplace=False), leaving the fp32 model as it is.
    int8_module = LogProbs(torch.ao.quantization.quantize_dynamic(
        scorer.model, {torch.nn.Linear}, dtype=torch.qint8)).eval()
    example = torch.randint(0, scorer.model.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    onnx_fp32, onnx_int8 = os.path.join(work, "smollm2.onnx"), os.path.join(work, "smollm2.int8.onnx")
    dim = torch.export.Dim
    torch.onnx.export(fp32_module, (example,), onnx_fp32, input_names=["ids"], output_names=["logp"], dynamo=True,
                      dynamic_shapes={"ids": {0: dim("batch", max=64), 1: dim("seq", max=2048)}})
    quantize_dynamic(onnx_fp32, onnx_int8, weight_type=QuantType.QInt8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sessions = {name: ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                for name, path in (("fp32", onnx_fp32), ("int8", onnx_int8))}
    def onnx_size(path):  # the graph and its external weights, when the exporter wrote them apart
        return sum(os.path.getsize(p) for p in (path, path + ".data") if os.path.isfile(p))

    sizes = {"ONNX Runtime fp32": onnx_size(onnx_fp32), "ONNX Runtime int8": onnx_size(onnx_int8)}

    def torch_ll(module):
        def loglikelihood(context, continuation):
            ids, picked = scorer.encode_pair(context, continuation)
            with torch.no_grad():
                logp = module(torch.tensor([ids])).double()[0]
            return float(logp[-len(picked):].gather(1, torch.tensor(picked)[:, None]).sum())
        return loglikelihood

    def ort_ll(session):
        def loglikelihood(context, continuation):
            ids, picked = scorer.encode_pair(context, continuation)
            logp = session.run(None, {"ids": np.array([ids], dtype=np.int64)})[0][0].astype(np.float64)
            return float(logp[np.arange(len(ids) - len(picked), len(ids)), picked].sum())
        return loglikelihood

    for name, ll in (("PyTorch fp32", torch_ll(fp32_module)), ("PyTorch int8", torch_ll(int8_module)),
                     ("ONNX Runtime fp32", ort_ll(sessions["fp32"])), ("ONNX Runtime int8", ort_ll(sessions["int8"]))):
        scores[name] = harness_scores(docs, ll)
        print(f"{name}: {scores[name]}", file=sys.stderr)

    rows = {}
    with torch.no_grad():
        for r in range(a.rounds):
            for batch, seq in SHAPES:
                ids = torch.randint(0, scorer.model.config.vocab_size, (batch, seq),
                                    generator=torch.Generator().manual_seed(r))
                feed = {"ids": ids.numpy().astype(np.int64)}
                shape = f"{batch}x{seq}"
                for name, model_dir in squish_models.items():
                    rows.setdefault(f"squish {name} {shape}", []).append(squish_forward_ms(a, model_dir, batch, seq))
                rows.setdefault(f"PyTorch fp32 {shape}", []).append(median_ms(lambda: fp32_module(ids)))
                rows.setdefault(f"PyTorch int8 {shape}", []).append(median_ms(lambda: int8_module(ids)))
                for name, session in sessions.items():
                    rows.setdefault(f"ONNX Runtime {name} {shape}", []).append(
                        median_ms(lambda: session.run(None, feed)))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rows.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in rows.items()}

    def model_size(model_dir):  # a squish container's weights file, or the GGUF itself
        path = os.path.join(model_dir, "model.safetensors") if os.path.isdir(model_dir) else model_dir
        return os.path.getsize(path)

    fp32_acc_norm = scores["squish fp32"]["acc_norm"]
    print(f"| SmolLM2, {len(docs)} HellaSwag items, {a.threads} threads | acc | acc_norm | Δ acc_norm (points) | "
          + " | ".join(f"ms {b}x{s}" for b, s in SHAPES) + " | " + " | ".join(f"× squish fp32 {b}x{s}" for b, s in SHAPES)
          + " |")
    print("|---|---:|---:|---:|" + "---:|" * (2 * len(SHAPES)))
    for name in list(scores):
        cells = [f"{scores[name]['acc']:.4f}", f"{scores[name]['acc_norm']:.4f}",
                 f"{100 * (scores[name]['acc_norm'] - fp32_acc_norm):+.2f}"]
        cells += [f"{med[f'{name} {b}x{s}']:.1f}" for b, s in SHAPES]
        cells += [f"{med[f'squish fp32 {b}x{s}'] / med[f'{name} {b}x{s}']:.2f}" for b, s in SHAPES]
        print(f"| {name} | " + " | ".join(cells) + " |")
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": a.threads,
                    "isa": os.environ.get("SQUISH_ISA", "best")},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "onnxruntime": ort.__version__},
        "items": len(docs), "item_positions": positions, "scores": scores, "rounds": rows, "median_ms": med,
        "sizes_bytes": {**sizes, **{"squish " + n: model_size(d) for n, d in squish_models.items()}},
    }
    if a.output:
        with open(a.output, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
