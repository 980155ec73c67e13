#!/usr/bin/env python3
"""Post-training int8 quantization by the Python tools squish replaces, on a real model and task.

The same model, task, evaluation examples and calibration examples as squish's own quantization, so
the accuracies, sizes and speeds can be set side by side. Engines (--engines, in this order):

  fp32                  PyTorch fp32 (BertForSequenceClassification, eager mode, inference_mode):
                        the sanity check; on a whole split it must match the reference accuracy that
                        ../shared/models/README.md gives
  torch-dynamic         torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8):
                        every Linear (encoder, pooler, classifier) int8 weights, activations
                        quantized per tensor at run time
  ort-fp32              the model exported to ONNX (TorchScript exporter, opset 17, dynamic batch and
                        sequence axes) and run by ONNX Runtime in fp32: size and speed baseline
  ort-dynamic           onnxruntime.quantization.quantize_dynamic (weights QInt8, per channel unless
                        --per_tensor) of that ONNX model
  ort-static-minmax     onnxruntime.quantization.quantize_static, QuantFormat.QDQ, per channel,
  ort-static-entropy    activations QUInt8, weights QInt8, calibrated on the calibration examples
  ort-static-percentile (batched, padded per batch) with CalibrationMethod MinMax / Entropy /
                        Percentile (--percentile, default 99.99)

Every ORT engine quantizes the same fp32 ONNX model: the export after
onnxruntime.quantization.shape_inference.quant_pre_process (symbolic shape inference and ORT's basic
graph optimizations, as ORT's quantization docs advise; --no_pre_process skips it). Which op types
ORT quantizes is its own default unless --ort_op_types says otherwise (e.g. MatMul,Gemm for the
Linears only). Each ORT quantization runs in a child process whose resident memory is watched
(--max_rss_gb): an engine that raises or grows past the limit is recorded as failed, with the reason,
and the script goes on.

Calibration examples are rows of the task's TRAIN split: --calib_from squish's quantization.json
(its "calibration": {"split": "train", "size": N, "indices": [...]}, 0-based rows, header excluded),
--calib_indices a JSON list of row numbers, or else --calib_size rows drawn with numpy seeded by
--seed (the output then says they are not squish's).

Evaluation: SST-2 dev, MRPC dev or IMDB test (--limit N: the first N rows only), tokenized with the
model directory's vocab.txt (BertTokenizerFast, lower case per tokenizer_config.json, longest-first
truncation to --max_length), forwarded in batches of --batch_size sorted by length and padded per
batch with attention mask 0. Reported per engine: the task metric, accuracy, precision, recall and F1
of label 1, agreement with fp32, the model's size on disk, quantization wall time, forward wall time
and examples/s at --threads, and for ORT the integer ops in the quantized file and in the graph the
session really runs. See docs/benchmarks.md.

  python3 bench/ptq_peers.py --model_dir ../shared/models/minilm-l6-sst2 --task sst2 --limit 64 --threads 1
  python3 bench/ptq_peers.py --model_dir ../shared/models/minilm-l6-sst2 --task sst2 \\
      --calib_from OUT/quantization.json --json sst2.json --markdown sst2.md
  python3 bench/ptq_peers.py --model_dir ../shared/models/minilm-l6-imdb --task imdb --max_length 512 \\
      --limit 2000 --engines fp32,ort-dynamic,ort-static-minmax
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter

from e2e_bert_base import cpu_model, log, parse_engines, torch_dynamic_int8  # what both scripts share

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))

ENGINES = ("fp32", "torch-dynamic", "ort-fp32", "ort-dynamic", "ort-static-minmax", "ort-static-entropy",
           "ort-static-percentile")
DEFAULT_ENGINES = ("fp32", "torch-dynamic", "ort-dynamic", "ort-static-minmax", "ort-static-entropy",
                   "ort-static-percentile")
STATIC_METHODS = {"ort-static-minmax": "MinMax", "ort-static-entropy": "Entropy",
                  "ort-static-percentile": "Percentile"}

TASKS = {
    # eval split file, train split file, metric name, default max_length
    "sst2": {"eval": "glue/sst2/dev.tsv", "train": "glue/sst2/train.tsv.gz", "eval_split": "dev",
             "metric": "accuracy", "metric_title": "SST-2 accuracy", "max_length": 128},
    "mrpc": {"eval": "glue/mrpc/dev.tsv", "train": "glue/mrpc/train.tsv", "eval_split": "dev",
             "metric": "f1", "metric_title": "MRPC F1", "max_length": 128},
    "imdb": {"eval": "imdb/test.jsonl.gz", "train": "imdb/train.jsonl.gz", "eval_split": "test",
             "metric": "accuracy", "metric_title": "IMDB accuracy", "max_length": 512},
}

# ../shared/models/README.md: fp32 references of the shared checkpoints, on the whole split.
# (model dir name, task, max_length) -> (metric value, correct, examples, note)
REFERENCE = {
    ("minilm-l6-sst2", "sst2", 128): {"accuracy": 0.8945, "correct": 780, "examples": 872, "f1": 0.8978},
    ("minilm-l6-mrpc", "mrpc", 128): {"accuracy": 0.7819, "correct": 319, "examples": 408, "f1": 0.8499},
    ("minilm-l6-imdb", "imdb", 512): {"accuracy": 0.8988, "correct": 22470, "examples": 25000, "f1": 0.9004},
    ("bert-tiny-sst2-scratch", "sst2", 128): {"accuracy": 0.8096, "correct": 706, "examples": 872},
    ("bert-tiny-sst2-scratch", "imdb", 512): {"accuracy": 0.7908, "examples": 25000},
    ("bert-tiny-sst2-scratch", "mrpc", 128): {"accuracy": 0.4436, "examples": 408},
}

# Ops that compute in integers (or quantize/dequantize for them), in a file or in the session graph.
INT_COMPUTE_OPS = {"MatMulInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "QLinearMatMul", "QGemm",
                   "QAttention", "QLinearConv", "ConvInteger", "QEmbedLayerNormalization", "DynamicQuantizeLSTM",
                   "QLinearAdd", "QLinearMul", "QLinearSoftmax", "QLinearConcat", "QLinearWhere",
                   "QOrderedMatMul", "MatMulNBits", "DynamicQuantizeLinear"}
FLOAT_MATMUL_OPS = {"MatMul", "Gemm", "FusedMatMul", "FusedGemm", "Attention", "MultiHeadAttention"}


def rss_bytes(pid: int | str = "self") -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes, (0, 0) when it is gone."""
    cur = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    cur = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return cur, hwm


# ---------------------------------------------------------------------------------------------
# Data


def read_rows(data_dir: str, task: str, which: str) -> tuple[list[str], list[str] | None, list[int]]:
    """(texts, text pairs or None, labels) of a split file, in file order."""
    path = os.path.join(data_dir, TASKS[task][which])
    opener = gzip.open if path.endswith(".gz") else open
    texts, pairs, labels = [], [], []
    with opener(path, "rt", encoding="utf-8-sig", newline="\n") as f:
        if task == "imdb":
            for line in f:
                if line.strip():
                    j = json.loads(line)
                    texts.append(j["text"])
                    labels.append(int(j["label"]))
            return texts, None, labels
        header = f.readline().rstrip("\r\n").split("\t")
        for n, line in enumerate(f, start=2):
            line = line.rstrip("\r\n")
            if not line:
                continue
            cols = line.split("\t")
            if task == "sst2":
                if header[:2] != ["sentence", "label"] or len(cols) != 2:
                    raise ValueError(f"{path}:{n}: expected `sentence<TAB>label`")
                texts.append(cols[0])
                labels.append(int(cols[1]))
            else:
                if header[0] != "Quality" or len(cols) != 5:
                    raise ValueError(f"{path}:{n}: expected 5 MRPC columns, got {len(cols)}")
                labels.append(int(cols[0]))
                texts.append(cols[3])
                pairs.append(cols[4])
    return texts, (pairs if task == "mrpc" else None), labels


def load_tokenizer(model_dir: str):
    """BertTokenizerFast of the directory's vocab.txt. from_pretrained, not BertTokenizerFast(vocab_file=...):
    transformers 5 ignores that keyword and builds an empty vocabulary (every word [UNK])."""
    from transformers import BertTokenizerFast

    lower = True
    tc = os.path.join(model_dir, "tokenizer_config.json")
    if os.path.exists(tc):
        with open(tc) as f:
            lower = bool(json.load(f).get("do_lower_case", True))
    tok = BertTokenizerFast.from_pretrained(model_dir, do_lower_case=lower)
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    if len(tok) != lines or tok.convert_tokens_to_ids("the") == tok.unk_token_id:
        raise SystemExit(f"tokenizer of {model_dir}: {len(tok)} entries for {lines} lines of vocab.txt")
    return tok


def tokenize(tok, texts: list[str], pairs: list[str] | None, max_length: int) -> dict:
    enc = tok(texts, pairs, truncation="longest_first", max_length=max_length, padding=False,
              return_attention_mask=False, return_token_type_ids=True)
    untrunc = tok(texts, pairs, truncation=False, padding=False, return_attention_mask=False,
                  return_token_type_ids=False)
    truncated = sum(len(u) > max_length for u in untrunc["input_ids"])
    return {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"], "truncated": truncated}


def make_batches(enc: dict, batch_size: int, sort: bool = True) -> list[dict]:
    """Batches of examples sorted by length (stable), each padded to its own longest example."""
    import numpy as np

    ids, types = enc["input_ids"], enc["token_type_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i])) if sort else list(range(len(ids)))
    out = []
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        t = max(len(ids[i]) for i in idx)
        a = np.zeros((len(idx), t), dtype=np.int64)
        m = np.zeros((len(idx), t), dtype=np.int64)
        y = np.zeros((len(idx), t), dtype=np.int64)
        for r, i in enumerate(idx):
            n = len(ids[i])
            a[r, :n], m[r, :n], y[r, :n] = ids[i], 1, types[i]
        out.append({"index": np.asarray(idx), "input_ids": a, "attention_mask": m, "token_type_ids": y})
    return out


def padding_stats(batches: list[dict]) -> dict:
    real = int(sum(b["attention_mask"].sum() for b in batches))
    padded = int(sum(b["attention_mask"].size for b in batches))
    return {"real_tokens": real, "tokens_with_padding": padded,
            "padding_fraction": 0.0 if padded == 0 else 1 - real / padded}


def calibration_indices(args, n_train: int) -> tuple[list[int], dict]:
    import numpy as np

    if args.calib_from:
        with open(args.calib_from) as f:
            q = json.load(f)
        cal = q.get("calibration")
        if not isinstance(cal, dict) or "indices" not in cal:
            raise SystemExit(f"{args.calib_from}: no \"calibration\": {{\"indices\": [...]}} object")
        if cal.get("split", "train") != "train":
            raise SystemExit(f"{args.calib_from}: calibration split is {cal.get('split')!r}, expected 'train'")
        idx = [int(i) for i in cal["indices"]]
        if "size" in cal and int(cal["size"]) != len(idx):
            raise SystemExit(f"{args.calib_from}: calibration size {cal['size']} but {len(idx)} indices")
        src = {"source": "squish quantization.json", "path": os.path.abspath(args.calib_from), "squish": True}
    elif args.calib_indices:
        with open(args.calib_indices) as f:
            idx = [int(i) for i in json.load(f)]
        src = {"source": "indices file", "path": os.path.abspath(args.calib_indices), "squish": None}
    else:
        size = min(args.calib_size, n_train)
        idx = sorted(int(i) for i in np.random.default_rng(args.seed).choice(n_train, size=size, replace=False))
        src = {"source": f"drawn by ptq_peers.py: numpy.random.default_rng({args.seed}).choice({n_train}, "
                         f"size={size}, replace=False), sorted", "squish": False,
               "note": "NOT squish's calibration examples (pass --calib_from squish's quantization.json for those)"}
    bad = [i for i in idx if not 0 <= i < n_train]
    if bad:
        raise SystemExit(f"calibration indices out of range 0..{n_train - 1}: {bad[:5]}")
    src.update(split="train", size=len(idx), rows_in_split=n_train,
               indices_sha256=hashlib.sha256(",".join(map(str, idx)).encode()).hexdigest(),
               indices_hash_of="sha256 of the indices in the order given, as decimal numbers joined by ','")
    return idx, src


class MT19937_64:
    """std::mt19937_64, as squish's subsets draw from it (bench: 10,000th draw of the default seed 5489 is
    9981545732273789042, the C++ standard's check value)."""

    N, M, MASK = 312, 156, (1 << 64) - 1

    def __init__(self, seed: int):
        self.mt = [seed & self.MASK]
        for i in range(1, self.N):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self.MASK)
        self.i = self.N

    def __call__(self) -> int:
        if self.i >= self.N:
            mt, n, m = self.mt, self.N, self.M
            for k in range(n):
                y = (mt[k] & 0xFFFFFFFF80000000) | (mt[(k + 1) % n] & 0x7FFFFFFF)
                mt[k] = mt[(k + m) % n] ^ (y >> 1) ^ (0xB5026F5AA96619E9 if y & 1 else 0)
            self.i = 0
        y = self.mt[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & self.MASK


def squish_subset(size: int, max_samples: int, seed: int) -> list[int]:
    """The rows `squish eval --max_samples N --seed S` evaluates (src/io/datasets/dataset.cpp take_subset): the
    first N of a forward Fisher-Yates shuffle of 0..size-1 drawn from std::mt19937_64(seed) with its own
    unbiased bounded draw, sorted back into dataset order."""
    if max_samples <= 0 or max_samples >= size:
        return list(range(size))
    rng, idx = MT19937_64(seed), list(range(size))
    for i in range(max_samples):
        r = size - i
        threshold = ((1 << 64) - r) % r
        while True:
            x = rng()
            if x >= threshold:
                break
        j = i + x % r
        idx[i], idx[j] = idx[j], idx[i]
    return sorted(idx[:max_samples])


# ---------------------------------------------------------------------------------------------
# Metrics


def metrics(preds: list[int], labels: list[int]) -> dict:
    tp = sum(p == 1 and y == 1 for p, y in zip(preds, labels))
    fp = sum(p == 1 and y != 1 for p, y in zip(preds, labels))
    fn = sum(p != 1 and y == 1 for p, y in zip(preds, labels))
    correct = sum(p == y for p, y in zip(preds, labels))
    n = len(labels)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"accuracy": correct / n if n else 0.0, "correct": correct, "precision": prec, "recall": rec, "f1": f1,
            "tp": tp, "fp": fp, "fn": fn, "tn": n - tp - fp - fn, "examples": n}


# ---------------------------------------------------------------------------------------------
# Engines: each gives predict(batch) -> logits (numpy), a size on disk and notes


def run_eval(predict, batches: list[dict], n: int):
    import numpy as np

    logits = np.zeros((n, 2), dtype=np.float32)
    if batches:
        predict(batches[len(batches) // 2])  # one untimed warm-up forward (first-call allocations, kernel choice)
    t0 = time.perf_counter()
    for b in batches:
        logits[b["index"]] = predict(b)
    return logits, time.perf_counter() - t0


def torch_predictor(model):
    import torch

    def predict(b):
        with torch.inference_mode():
            out = model(input_ids=torch.from_numpy(b["input_ids"]), attention_mask=torch.from_numpy(b["attention_mask"]),
                        token_type_ids=torch.from_numpy(b["token_type_ids"]))
        return out.logits.float().numpy()
    return predict


def ort_session(path: str, threads: int, optimized_path: str | None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized_path:
        so.optimized_model_filepath = optimized_path  # the graph the session runs, for counting its ops
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_predictor(sess):
    names = {i.name for i in sess.get_inputs()}

    def predict(b):
        return sess.run(["logits"], {k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in names})[0]
    return predict


def op_counts(path: str) -> Counter:
    import onnx

    m = onnx.load(path, load_external_data=False)
    return Counter(n.op_type for n in m.graph.node)


def int_op_summary(ops: Counter) -> dict:
    q = {k: v for k, v in sorted(ops.items())
         if k in INT_COMPUTE_OPS or k.startswith("QLinear") or k in ("QuantizeLinear", "DequantizeLinear")}
    return {"quant_ops": q, "integer_compute_ops": sum(v for k, v in q.items() if k in INT_COMPUTE_OPS
                                                        or k.startswith("QLinear")),
            "float_matmul_ops": {k: v for k, v in sorted(ops.items()) if k in FLOAT_MATMUL_OPS}}


def file_bytes(path: str) -> int:
    """An .onnx file plus any external data files beside it that it names."""
    import onnx

    total = os.path.getsize(path)
    m = onnx.load(path, load_external_data=False)
    seen = set()
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location" and e.value not in seen:
                seen.add(e.value)
                total += os.path.getsize(os.path.join(os.path.dirname(path), e.value))
    return total


def export_onnx(model_dir: str, path: str, sample: dict) -> str:
    import torch
    import warnings
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = tuple(torch.from_numpy(sample[n][:2]) for n in names)
    dyn = {n: {0: "batch", 1: "seq"} for n in names}
    dyn["logits"] = {0: "batch"}
    for dynamo in (False, True):  # as bench/e2e_bert_base.py: TorchScript first, dynamo as a fallback
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, args, path, input_names=names, output_names=["logits"], dynamic_axes=dyn,
                                  opset_version=17, dynamo=dynamo)
            return "dynamo" if dynamo else "TorchScript"
        except Exception as e:  # noqa: BLE001 - try the other exporter
            log(f"  torch.onnx.export(dynamo={dynamo}) failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    raise RuntimeError("ONNX export failed with both exporters")


# ---------------------------------------------------------------------------------------------
# ORT quantization in a child process (memory watched)


class BatchReader:
    """onnxruntime CalibrationDataReader over prepared batches; len() and set_range() let quantize_static
    collect them a few batches at a time (CalibStridedMinMax)."""

    def __init__(self, batches: list[dict], input_names: set[str]):
        self.batches = [{k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in input_names}
                        for b in batches]
        self.start, self.end, self.pos = 0, len(self.batches), 0

    def get_next(self):
        if self.pos >= self.end:
            return None
        self.pos += 1
        return self.batches[self.pos - 1]

    def __len__(self):
        return len(self.batches)

    def set_range(self, start_index: int, end_index: int):
        self.start, self.end, self.pos = start_index, min(end_index, len(self.batches)), start_index

    def rewind(self):
        self.pos = self.start


def _limit_ort_threads(threads: int) -> None:
    """The calibrator builds its own SessionOptions (all cores): give it --threads instead."""
    import onnxruntime

    base = onnxruntime.SessionOptions

    class Limited(base):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.intra_op_num_threads = threads
            self.inter_op_num_threads = 1

    onnxruntime.SessionOptions = Limited


def _quantize_child(spec: dict, result_path: str) -> None:
    """Runs in a spawned process: one ORT quantization, its wall time into result_path (JSON)."""
    try:
        import numpy as np
        from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_dynamic,
                                              quantize_static)

        _limit_ort_threads(spec["threads"])
        op_types = spec["op_types"] or None
        extra = dict(spec["extra_options"])
        t0 = time.perf_counter()
        if spec["kind"] == "dynamic":
            # Dynamic mode turns every Gemm into MatMul + Add before choosing nodes (new names), and honours
            # MatMulConstBOnly: the 'linears' scope needs no node list there.
            quantize_dynamic(spec["input"], spec["output"], op_types_to_quantize=op_types,
                             per_channel=spec["per_channel"], reduce_range=spec["reduce_range"],
                             weight_type=QuantType.QInt8, extra_options=extra)
        else:
            data = np.load(spec["calib_npz"])
            nb = int(data["n_batches"])
            batches = [{k: data[f"{k}_{i}"] for k in ("input_ids", "attention_mask", "token_type_ids")}
                       for i in range(nb)]
            import onnx

            names = {i.name for i in onnx.load(spec["input"], load_external_data=False).graph.input}
            reader = BatchReader(batches, names)
            method = getattr(CalibrationMethod, spec["method"])
            quantize_static(spec["input"], spec["output"], reader, quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=op_types, nodes_to_quantize=spec["nodes_to_quantize"],
                            per_channel=spec["per_channel"],
                            reduce_range=spec["reduce_range"], activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=method, extra_options=extra)
        res = {"ok": True, "seconds": time.perf_counter() - t0}
    except BaseException as e:  # noqa: BLE001 - report every failure to the parent
        res = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]}
    with open(result_path, "w") as f:
        json.dump(res, f)


def quantize_in_child(spec: dict, tmp: str, max_rss: int, timeout_s: float) -> dict:
    result_path = os.path.join(tmp, f"result_{os.getpid()}_{time.monotonic_ns()}.json")
    ctx = mp.get_context("spawn")
    env_keep = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    for k in env_keep:
        os.environ[k] = str(spec["threads"])
    try:
        p = ctx.Process(target=_quantize_child, args=(spec, result_path))
        t0 = time.perf_counter()
        p.start()
    finally:
        for k, v in env_keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    peak = 0
    killed = None
    while p.is_alive():
        cur, hwm = rss_bytes(p.pid)
        peak = max(peak, cur, hwm)
        if cur > max_rss:
            killed = f"resident memory {cur / 2**30:.1f} GiB passed --max_rss_gb {max_rss / 2**30:.1f}: killed"
        elif time.perf_counter() - t0 > timeout_s:
            killed = f"still running after {timeout_s:.0f} s (--quant_timeout_s): killed"
        if killed:
            p.kill()
            break
        p.join(0.1)
    p.join()
    wall = time.perf_counter() - t0
    if killed:
        return {"ok": False, "error": killed, "peak_rss_bytes": peak, "wall_seconds": wall}
    try:
        with open(result_path) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {"ok": False, "error": f"quantization process ended with exit code {p.exitcode} and no result"
                                      + (" (killed by a signal: out of memory?)" if (p.exitcode or 0) < 0 else "")}
    res["peak_rss_bytes"] = peak
    res["wall_seconds"] = wall
    return res


# ---------------------------------------------------------------------------------------------
# Report


def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table_rows(results: list[dict], task: str) -> tuple[list[str], list[list[str]]]:
    head = ["engine", TASKS[task]["metric_title"], "accuracy", "precision", "recall", "F1", "examples",
            "agrees with fp32", "size MB", "quantize s", "eval s", "examples/s", "integer ops in session",
            "quantize peak RSS MB"]
    rows = []
    for r in results:
        if not r.get("ok"):
            rows.append([r["engine"], "FAILED"] + ["-"] * (len(head) - 3) + [fmt(
                None if not r.get("quantize_peak_rss_bytes") else r["quantize_peak_rss_bytes"] / 1e6, ".0f")])
            continue
        m = r["metrics"]
        ops = r.get("session_ops")
        if ops is not None:
            q = ops["quant_ops"]
            ints = ", ".join(f"{k} {v}" for k, v in q.items() if k in INT_COMPUTE_OPS or k.startswith("QLinear")) or "none"
        else:
            ints = r.get("integer_note", "-")
        rows.append([r["engine"], fmt(m[TASKS[task]["metric"]], ".4f"), f"{m['accuracy']:.4f} ({m['correct']}/{m['examples']})",
                     fmt(m["precision"], ".4f"), fmt(m["recall"], ".4f"), fmt(m["f1"], ".4f"), str(m["examples"]),
                     fmt(r.get("agreement_with_fp32"), ".4f"), fmt(r["size_bytes"] / 1e6, ".1f"),
                     fmt(r.get("quantize_seconds"), ".1f"), fmt(r["eval_seconds"], ".1f"),
                     fmt(r["examples_per_second"], ".1f"), ints,
                     fmt(None if not r.get("quantize_peak_rss_bytes") else r["quantize_peak_rss_bytes"] / 1e6, ".0f")])
    return head, rows


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def text_table(head: list[str], rows: list[list[str]]) -> str:
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head)), "  ".join("-" * x for x in w)]
    lines += ["  ".join(c.rjust(w[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(lines)


def notes(meta: dict, results: list[dict]) -> list[str]:
    c = meta["calibration"]
    out = [
        f"Model: {meta['model_dir']} ({meta['parameters']:,} parameters), task {meta['task']}, "
        f"eval split {meta['eval_split']} ({meta['examples']} examples"
        + (f", the --max_samples {meta['max_samples']} subset of seed {meta['subset_seed']} (squish eval's)"
           if meta.get("max_samples") else "") + (f", first {meta['limit']} (--limit)" if meta['limit'] else "") + "), "
        f"max_length {meta['max_length']} ({meta['truncated_examples']} truncated), batch size {meta['batch_size']} "
        f"sorted by length (padding {100 * meta['eval_padding']['padding_fraction']:.1f}% of forwarded tokens)",
        f"CPU: {meta['cpu']}, threads {meta['threads']} for every engine (torch.set_num_threads, ORT intra_op_num_threads; "
        f"ORT calibration sessions too)",
        f"Versions: torch {meta['versions']['torch']}, onnxruntime {meta['versions']['onnxruntime']}, "
        f"transformers {meta['versions']['transformers']}, onnx {meta['versions']['onnx']}, numpy {meta['versions']['numpy']}, "
        f"Python {meta['versions']['python']}; squish tree {meta['git_rev']}",
        f"Calibration: {c['size']} rows of the train split, {c['source']}; indices sha256 {c['indices_sha256'][:16]}...; "
        f"batches of {meta['calib_batch_size']} sorted by length, padded per batch "
        f"(padding {100 * meta['calib_padding']['padding_fraction']:.1f}% of tokens)"
        + ("; NOT squish's calibration examples" if c.get("squish") is False else ""),
    ]
    ref = meta.get("reference")
    if ref:
        out.append(f"Reference (../shared/models/README.md, whole split, fp32): accuracy {ref['accuracy']:.4f}"
                   + (f" ({ref['correct']}/{ref['examples']})" if "correct" in ref else "")
                   + (f", F1 {ref['f1']:.4f}" if "f1" in ref else "") + f"; fp32 here: {meta.get('fp32_check', '-')}")
    if meta.get("onnx"):
        o = meta["onnx"]
        out.append(f"ONNX: {o['exporter']} export, opset 17, dynamic batch and sequence axes"
                   + (f", then quant_pre_process({', '.join(f'{k}={v}' for k, v in o['pre_process_options'].items())}: "
                      "shape inference + ORT basic optimizations)" if o["pre_processed"]
                      else f", not pre-processed ({o.get('pre_process_note', '--no_pre_process')})")
                   + f"; max |logit diff| ORT fp32 vs PyTorch fp32 on {o['check_examples']} eval examples {o['max_abs_diff']:.1e}")
        q = meta["ort_quantization"]
        out.append(f"ORT quantization: scope {q['scope']}, op types {','.join(q['op_types']) or 'ORT default (all it supports)'}"
                   + ("" if q["nodes_to_quantize"] is None else f" ({len(q['nodes_to_quantize'])} nodes: MatMul with constant B, Gemm)")
                   + "; weights QInt8 "
                   f"{'per channel' if q['per_channel'] else 'per tensor'}, reduce_range {q['reduce_range']}; static: QDQ, "
                   f"activations QUInt8, percentile {q['percentile']}, calibration collected {q['calib_collect']}; "
                   f"extra_options {json.dumps(q['extra_options'])}")
    out.append("Size: the file each engine loads (PyTorch: torch.save of the state_dict; ORT: the .onnx). "
               "quantize s: wall time of quantize_dynamic / quantize_static (calibration included), without export. "
               "eval s: forwards only (after one untimed warm-up batch), without tokenization. 'integer ops in session': what ORT really runs after its "
               "graph optimizations (SessionOptions.optimized_model_filepath), QuantizeLinear/DequantizeLinear left out")
    for r in results:
        if not r.get("ok"):
            out.append(f"{r['engine']} FAILED: {r['error']}")
    return out


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_dir", required=True, help="HF model directory (config.json, vocab.txt, weights)")
    ap.add_argument("--task", required=True, choices=sorted(TASKS))
    ap.add_argument("--data_dir", default=DEFAULT_DATA, help="holds glue/ and imdb/ (default ../shared/data)")
    ap.add_argument("--max_length", type=int, default=0, help="truncation length (default: 128 GLUE, 512 IMDB)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--calib_from", help="squish's quantization.json: its calibration indices")
    g.add_argument("--calib_indices", help="JSON list of 0-based train row numbers")
    ap.add_argument("--calib_size", type=int, default=500, help="rows to draw without --calib_from/--calib_indices")
    ap.add_argument("--seed", type=int, default=42, help="seed of that draw")
    ap.add_argument("--calib_batch_size", type=int, default=16)
    ap.add_argument("--calib_stride", type=int, default=1,
                    help="calibration batches ORT collects at a time (extra option CalibStridedMinMax; it also applies "
                         "to Entropy and Percentile, whose histograms are then merged); 0: all at once, ORT's default, "
                         "which holds every calibrated tensor of every batch in memory and, with per-batch padding, "
                         "fails for the histogram methods on batches of unequal length")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N rows of the eval split (smoke tests; "
                    "IMDB's files hold all negatives first, so use --max_samples there)")
    ap.add_argument("--max_samples", type=int, default=0,
                    help="evaluate a seeded random subset of N rows, the same rows as `squish eval --max_samples N "
                         "--seed S` (S = --subset_seed), in dataset order")
    ap.add_argument("--subset_seed", type=int, default=42, help="seed of the --max_samples subset (squish eval's --seed)")
    ap.add_argument("--batch_size", type=int, default=32, help="evaluation batch size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help="subset of " + ",".join(ENGINES))
    ap.add_argument("--per_tensor", action="store_true", help="ORT weights per tensor (default per channel)")
    ap.add_argument("--reduce_range", action="store_true", help="ORT reduce_range (7-bit weights)")
    ap.add_argument("--percentile", type=float, default=99.99)
    ap.add_argument("--ort_scope", choices=("default", "linears"), default="default",
                    help="what ORT quantizes: 'default' = ORT's own default (every op type it supports: in static QDQ "
                         "also Add, Mul, Softmax, Gather, ..., incl. the attention-mask Add; dynamic: MatMul with "
                         "constant B and the embedding Gathers); 'linears' = the Linears only: op types MatMul,Gemm "
                         "with MatMulConstBOnly (no activation x activation MatMul in attention), as squish does")
    ap.add_argument("--ort_op_types", default="",
                    help="explicit op types for ORT (comma list), overriding --ort_scope's")
    ap.add_argument("--no_pre_process", action="store_true", help="skip quant_pre_process")
    ap.add_argument("--max_rss_gb", type=float, default=12.0,
                    help="kill an ORT quantization whose process grows past this (GiB) and record it as failed")
    ap.add_argument("--quant_timeout_s", type=float, default=3600.0)
    ap.add_argument("--json", help="write everything as JSON here")
    ap.add_argument("--markdown", help="write the table and its notes as markdown here")
    ap.add_argument("--keep_dir", help="keep the ONNX files (and the saved PyTorch state dicts) in this folder")
    args = ap.parse_args()

    engines = parse_engines(ap, args.engines, ENGINES)
    max_length = args.max_length or TASKS[args.task]["max_length"]
    threads = max(1, args.threads)

    import numpy as np
    import onnx
    import onnxruntime
    import torch
    import transformers
    from transformers import BertForSequenceClassification

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    model_dir = os.path.abspath(args.model_dir)
    rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True, text=True)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python3", "bench/ptq_peers.py"] + sys.argv[1:]),
        "cpu": cpu_model(), "threads": threads, "git_rev": rev.stdout.strip() or "?",
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                     "transformers": transformers.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "torch_quantized_engine": torch.backends.quantized.engine,
        "model_dir": model_dir, "task": args.task, "max_length": max_length, "eval_split": TASKS[args.task]["eval_split"],
        "limit": args.limit, "batch_size": args.batch_size, "calib_batch_size": args.calib_batch_size,
        "engines": engines,
    }

    # Data
    tok = load_tokenizer(model_dir)
    texts, pairs, labels = read_rows(args.data_dir, args.task, "eval")
    rows = list(range(len(texts)))
    if args.max_samples:
        rows = squish_subset(len(texts), args.max_samples, args.subset_seed)
    if args.limit:
        rows = rows[:args.limit]
    if len(rows) != len(texts):
        texts, labels = [texts[i] for i in rows], [labels[i] for i in rows]
        pairs = [pairs[i] for i in rows] if pairs is not None else None
        meta["eval_rows_sha256"] = hashlib.sha256(",".join(map(str, rows)).encode()).hexdigest()
    meta["max_samples"], meta["subset_seed"] = args.max_samples, args.subset_seed
    enc = tokenize(tok, texts, pairs, max_length)
    batches = make_batches(enc, args.batch_size)
    n = len(labels)
    meta.update(examples=n, truncated_examples=enc["truncated"], eval_padding=padding_stats(batches),
                eval_file=os.path.join(args.data_dir, TASKS[args.task]["eval"]))

    tr_texts, tr_pairs, _ = read_rows(args.data_dir, args.task, "train")
    cidx, csrc = calibration_indices(args, len(tr_texts))
    cenc = tokenize(tok, [tr_texts[i] for i in cidx], [tr_pairs[i] for i in cidx] if tr_pairs else None, max_length)
    del tr_texts, tr_pairs
    cbatches = make_batches(cenc, args.calib_batch_size)
    csrc["truncated_examples"] = cenc["truncated"]
    meta.update(calibration=csrc, calib_padding=padding_stats(cbatches))
    log(f"{args.task}: {n} eval examples, {len(cidx)} calibration rows ({csrc['source']}), max_length {max_length}, "
        f"{threads} threads")

    ref = REFERENCE.get((os.path.basename(model_dir.rstrip("/")), args.task, max_length))
    if ref:
        meta["reference"] = ref

    keep = os.path.abspath(args.keep_dir) if args.keep_dir else None
    tmp = tempfile.mkdtemp(prefix="squish_ptq_")
    work = keep or tmp
    if keep:
        os.makedirs(keep, exist_ok=True)
    results: list[dict] = []
    fp32_logits = None
    try:
        model = BertForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
        meta["parameters"] = sum(p.numel() for p in model.parameters())
        meta["torch_attn"] = getattr(model.config, "_attn_implementation", "?")

        def record(engine: str, logits, secs: float, size: int, extra: dict) -> None:
            nonlocal fp32_logits
            preds = logits.argmax(-1).tolist()
            r = {"engine": engine, "ok": True, "metrics": metrics(preds, labels), "eval_seconds": secs,
                 "examples_per_second": n / secs if secs > 0 else None, "size_bytes": size}
            if engine == "fp32":
                fp32_logits = logits
            if fp32_logits is not None and engine != "fp32":
                r["agreement_with_fp32"] = float(np.mean(fp32_logits.argmax(-1) == logits.argmax(-1)))
                r["max_abs_logit_diff_vs_fp32"] = float(np.max(np.abs(fp32_logits - logits)))
            r.update(extra)
            results.append(r)
            m = r["metrics"]
            log(f"  {engine}: {TASKS[args.task]['metric_title']} {m[TASKS[args.task]['metric']]:.4f}, accuracy "
                f"{m['accuracy']:.4f} ({m['correct']}/{n}), F1 {m['f1']:.4f}, {size / 1e6:.1f} MB, eval {secs:.1f} s")

        def failed(engine: str, err: str, extra: dict | None = None) -> None:
            log(f"  {engine} FAILED: {err}")
            results.append({"engine": engine, "ok": False, "error": err, **(extra or {})})

        def torch_size(m, name: str) -> int:
            p = os.path.join(work, name)
            torch.save(m.state_dict(), p)
            return os.path.getsize(p)

        # PyTorch engines
        for engine in [e for e in engines if e in ("fp32", "torch-dynamic")]:
            log(f"{engine} ...")
            try:
                if engine == "fp32":
                    m, qs, extra = model, None, {"attention": meta["torch_attn"]}
                else:
                    m, qs, qlin = torch_dynamic_int8(model)
                    extra = {"quantize_seconds": qs, "quantized_linears": qlin,
                             "integer_note": f"{qlin} dynamic int8 Linear ({torch.backends.quantized.engine})"}
                size = torch_size(m, f"{engine}.pt")
                logits, secs = run_eval(torch_predictor(m), batches, n)
                record(engine, logits, secs, size, extra)
                if engine == "fp32" and ref and not args.limit and not args.max_samples:
                    mm = results[-1]["metrics"]
                    ok = "correct" in ref and mm["correct"] == ref["correct"] and mm["examples"] == ref["examples"]
                    meta["fp32_check"] = (f"{mm['accuracy']:.4f} ({mm['correct']}/{mm['examples']}): "
                                          + ("matches" if ok else "DOES NOT MATCH" if "correct" in ref else
                                             f"reference {ref['accuracy']:.4f}"))
                    log(f"  reference check: {meta['fp32_check']}")
                if m is not model:
                    del m
            except Exception as e:  # noqa: BLE001 - record and go on
                failed(engine, f"{type(e).__name__}: {e}")

        ort_engines = [e for e in engines if e.startswith("ort-")]
        if ort_engines:
            log("ONNX export ...")
            raw = os.path.join(work, "model.onnx")
            exporter = export_onnx(model_dir, raw, batches[0])
            base = raw
            onnx_meta = {"exporter": exporter, "pre_processed": False}
            if not args.no_pre_process:
                from onnxruntime.quantization.shape_inference import quant_pre_process

                pre = os.path.join(work, "model.pre.onnx")
                # Plain symbolic shape inference stops at the attention mask's dynamic shapes ("Incomplete
                # symbolic shape inference"); auto_merge lets it merge the symbolic dims, as ORT's docs suggest.
                errors = []
                for kw in ({"auto_merge": True}, {"skip_symbolic_shape": True}):
                    try:
                        t0 = time.perf_counter()
                        with contextlib.chdir(tmp):  # a failed symbolic inference drops a debug model in the cwd
                            quant_pre_process(raw, pre, **kw)
                        onnx_meta.update(pre_processed=True, pre_process_seconds=time.perf_counter() - t0,
                                         pre_process_options=kw)
                        base = pre
                        break
                    except Exception as e:  # noqa: BLE001 - next option, else quantize the plain export
                        errors.append(f"quant_pre_process({kw}) failed: {type(e).__name__}: {e}")
                        log(f"  {errors[-1]}")
                if errors:
                    onnx_meta["pre_process_note"] = "; ".join(errors)
            # The ONNX model against PyTorch on a few eval batches.
            sess = ort_session(base, threads, None)
            chk = batches[: max(1, min(len(batches), 64 // args.batch_size or 1))]
            tp = torch_predictor(model)
            diff = max(float(np.max(np.abs(ort_predictor(sess)(b) - tp(b)))) for b in chk)
            onnx_meta.update(max_abs_diff=diff, check_examples=int(sum(len(b["index"]) for b in chk)),
                             fp32_bytes=file_bytes(base))
            del sess
            meta["onnx"] = onnx_meta
            log(f"  {exporter} export{' + quant_pre_process' if onnx_meta['pre_processed'] else ''}, "
                f"max |logit diff| vs PyTorch {diff:.1e}")

            op_types = [s.strip() for s in args.ort_op_types.split(",") if s.strip()]
            scope_extra: dict = {}
            nodes_to_quantize = None
            if args.ort_scope == "linears":
                # The QDQ quantizer ignores MatMulConstBOnly (only the QOperator/dynamic one reads it), so name the
                # nodes: MatMul with a constant B, and Gemm. Their outputs stay fp32 (no requantization after the
                # int32 accumulation; ORT then runs DQ -> MatMul as MatMulIntegerToFloat).
                op_types = op_types or ["MatMul", "Gemm"]  # dynamic: Gemm becomes MatMul + Add first
                g = onnx.load(base, load_external_data=False).graph
                inits = {t.name for t in g.initializer}
                nodes_to_quantize = [nd.name for nd in g.node if (nd.op_type == "MatMul" and nd.input[1] in inits)
                                     or nd.op_type == "Gemm"]
                scope_extra["MatMulConstBOnly"] = True
                scope_extra["OpTypesToExcludeOutputQuantization"] = ["MatMul", "Gemm"]
            meta["ort_quantization"] = {
                "op_types": op_types, "per_channel": not args.per_tensor, "reduce_range": args.reduce_range,
                "scope": args.ort_scope, "percentile": args.percentile, "extra_options": scope_extra,
                "nodes_to_quantize": nodes_to_quantize,
                "calib_collect": ("all batches at once (ORT default)" if args.calib_stride <= 0 else
                                  f"{args.calib_stride} batch(es) at a time (CalibStridedMinMax={args.calib_stride})"),
            }
            calib_npz = os.path.join(tmp, "calib.npz")
            arrays = {"n_batches": np.asarray(len(cbatches))}
            for i, b in enumerate(cbatches):
                for k in ("input_ids", "attention_mask", "token_type_ids"):
                    arrays[f"{k}_{i}"] = b[k]
            np.savez(calib_npz, **arrays)
            stride = args.calib_stride
            if stride > 0 and len(cbatches) % stride:
                log(f"  --calib_stride {stride} does not divide {len(cbatches)} batches: using 1")
                stride = 1

            for engine in ort_engines:
                log(f"{engine} ...")
                extra: dict = {}
                try:
                    if engine == "ort-fp32":
                        path = base
                    else:
                        path = os.path.join(work, f"{engine}.onnx")
                        spec = {"input": base, "output": path, "threads": threads, "op_types": op_types,
                                "nodes_to_quantize": nodes_to_quantize,
                                "per_channel": not args.per_tensor, "reduce_range": args.reduce_range}
                        if engine == "ort-dynamic":
                            spec.update(kind="dynamic", extra_options=dict(scope_extra))
                        else:
                            eo = dict(scope_extra)
                            if stride > 0:
                                eo["CalibStridedMinMax"] = stride
                            if engine == "ort-static-percentile":
                                eo["CalibPercentile"] = args.percentile
                            spec.update(kind="static", method=STATIC_METHODS[engine], calib_npz=calib_npz,
                                        extra_options=eo)
                        extra["extra_options"] = spec["extra_options"]
                        res = quantize_in_child(spec, tmp, int(args.max_rss_gb * 2**30), args.quant_timeout_s)
                        extra["quantize_peak_rss_bytes"] = res.get("peak_rss_bytes")
                        extra["quantize_process_seconds"] = res.get("wall_seconds")
                        log(f"  quantization: {'ok' if res['ok'] else 'failed'}, {res.get('wall_seconds', 0):.1f} s, "
                            f"peak RSS {res.get('peak_rss_bytes', 0) / 2**30:.2f} GiB")
                        if not res["ok"]:
                            if "Too many bins" in res["error"]:
                                res["error"] += (" [a calibrated tensor spans about +-3.4e38: the attention-mask addend,"
                                                 " float32 min at padded positions, makes the histogram range overflow;"
                                                 " --ort_scope linears does not calibrate it]")
                            elif "inhomogeneous shape" in res["error"]:
                                res["error"] += (" [the histogram calibrators stack all batches into one array, which"
                                                 " fails for batches padded to different lengths: --calib_stride 1]")
                            if res.get("traceback"):
                                extra["traceback"] = res["traceback"]
                            failed(engine, res["error"], extra)
                            continue
                        extra["quantize_seconds"] = res["seconds"]
                        extra["file_ops"] = int_op_summary(op_counts(path))
                    opt_path = os.path.join(tmp, f"{engine}.session.onnx")
                    sess = ort_session(path, threads, opt_path)
                    if os.path.exists(opt_path):
                        extra["session_ops"] = int_op_summary(op_counts(opt_path))
                    logits, secs = run_eval(ort_predictor(sess), batches, n)
                    del sess
                    record(engine, logits, secs, file_bytes(path), extra)
                    so = results[-1].get("session_ops")
                    if so:
                        log(f"  session graph: integer ops {so['quant_ops']}, float matmuls {so['float_matmul_ops']}")
                except Exception as e:  # noqa: BLE001 - record and go on
                    failed(engine, f"{type(e).__name__}: {e}", extra)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if keep:
            log(f"kept: {keep}")

    head, rows = table_rows(results, args.task)
    nts = notes(meta, results)
    print()
    print("\n".join(nts))
    print()
    print(text_table(head, rows))
    if args.markdown:
        md = [f"Measured {meta['date']} with `{meta['command']}`.", ""]
        md += [f"- {x}" for x in nts]
        md += ["", markdown_table(head, rows), ""]
        with open(args.markdown, "w") as f:
            f.write("\n".join(md))
        log(f"markdown: {args.markdown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"schema": "squish.ptq_peers", "schema_version": 1, "meta": meta, "results": results}, f, indent=2)
            f.write("\n")
        log(f"json: {args.json}")
    return 0  # a failed engine is a result (recorded with its reason), not an error of the script


if __name__ == "__main__":
    sys.exit(main())
