#!/usr/bin/env python3
"""End-to-end BERT-base sequence classification throughput: squish vs ONNX Runtime vs PyTorch.

All of them run the same architecture (BERT-base from ../shared/models/bert-base-uncased-vocab/
config.json, random weights, 2 labels) on the same shapes with the same thread count, random
token ids and a full attention mask. fp32 engines (the default set):

  squish        build/squish bench --config ... --batch B --seq S --threads N --runs R --output ...
  ort           ONNX Runtime: the PyTorch model exported to ONNX once (dynamic batch and sequence
                axes), then onnxruntime.transformers.optimizer.optimize_model(model_type='bert') when
                it works; intra_op_num_threads = N, graph optimizations ALL, CPU execution provider
  torch         PyTorch: BertForSequenceClassification in eager mode, torch.inference_mode(),
                set_num_threads(N)

int8 engines (--engines ...; random weights, so they say nothing about accuracy):

  squish-dynamic      build/squish bench ... --quant dynamic (int8 weights, activations per row)
  squish-static       build/squish bench ... --quant static (activation scales from calibration)
  ort-int8-dynamic    onnxruntime.quantization.quantize_dynamic (QInt8 weights, per channel) of the
                      optimized model ort runs (its Attention nodes become QAttention)
  ort-int8-static     quantize_static, QDQ, per channel, MinMax, activations QUInt8, on the plain
                      export after quant_pre_process (--ort-static-base optimized: on the optimized
                      model), the Linears only (MatMul with constant B, Gemm; outputs not
                      requantized), calibrated on --calib-batches random-token batches
  torch-int8-dynamic  torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)

Each engine: the median of R timed forwards after warm-up runs, and sequences/s at that median.
Also squish's achieved GFLOP/s and its fraction of the machine's fp32 FMA peak, and with int8
engines a second table: every engine's speed against squish fp32, and squish int8 against ORT's
best int8. An int8 engine that cannot be built or run is reported as failed and the rest go on.
See docs/benchmarks.md.

  python3 bench/e2e_bert_base.py                  # all cores, default shapes and runs
  python3 bench/e2e_bert_base.py --threads 2 --markdown /tmp/e2e.md --json /tmp/e2e.json
  python3 bench/e2e_bert_base.py --shapes 1x128 --runs 5 --engines squish,ort   # a quick look
  python3 bench/e2e_bert_base.py --threads 2 --engines squish,squish-dynamic,squish-static,ort,ort-int8-dynamic,ort-int8-static,torch,torch-int8-dynamic
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.normpath(os.path.join(REPO, "..", "shared", "models", "bert-base-uncased-vocab", "config.json"))
SHARED_PEAK_SRC = os.path.normpath(os.path.join(REPO, "..", "shared", "tools", "peak.cpp"))

# (batch, seq) -> (timed runs, warm-up runs): a few minutes in all on 2 cores.
DEFAULT_SHAPES = {(1, 128): (20, 3), (32, 128): (5, 1), (8, 512): (3, 1)}
ENGINES = ("squish", "ort", "torch", "squish-dynamic", "squish-static", "ort-int8-dynamic", "ort-int8-static",
           "torch-int8-dynamic")
DEFAULT_ENGINES = ("squish", "ort", "torch")
INT8_ENGINES = ("squish-dynamic", "squish-static", "ort-int8-dynamic", "ort-int8-static", "torch-int8-dynamic")
SQUISH_QUANT = {"squish": None, "squish-dynamic": "dynamic", "squish-static": "static"}
ENGINE_TITLES = {"squish": "squish", "ort": "ONNX Runtime", "torch": "PyTorch", "squish-dynamic": "squish int8 dynamic",
                 "squish-static": "squish int8 static", "ort-int8-dynamic": "ORT int8 dynamic",
                 "ort-int8-static": "ORT int8 static", "torch-int8-dynamic": "PyTorch int8 dynamic"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Machine


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            return m.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def parse_engines(ap: argparse.ArgumentParser, text: str, known: tuple[str, ...]) -> list[str]:
    """--engines as a list in `known`'s order; an unknown name is a usage error."""
    asked = [e.strip() for e in text.split(",") if e.strip()]
    for e in asked:
        if e not in known:
            ap.error(f"--engines: unknown engine {e!r} (expected some of {', '.join(known)})")
    return [e for e in known if e in asked]


def torch_dynamic_int8(model):
    """torch.ao.quantization.quantize_dynamic of every nn.Linear to qint8 (on a copy), its wall time in
    seconds, and how many Linears it made dynamic int8."""
    import copy
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    seconds = time.perf_counter() - t0
    linears = sum(type(x).__module__.startswith("torch.ao.nn.quantized.dynamic") for x in q.modules())
    return q, seconds, linears


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def all_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def compile_cached(binary: str, sources: list[str], build: "callable") -> str | None:
    """Builds `binary` with build(binary) unless it exists and is newer than every source."""
    if os.path.exists(binary) and all(os.path.getmtime(binary) >= os.path.getmtime(s) for s in sources):
        return binary
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    try:
        build(binary)
        return binary
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", None) or str(e)
        log(f"  could not build {os.path.basename(binary)}: {err.strip().splitlines()[-1] if err.strip() else e}")
        return None


def run_cmd(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@dataclass
class Peak:
    gflops: float | None = None  # fp32 FMA peak at the benchmark's thread count
    source: str = ""             # which measurement the fraction uses
    lines: list[str] = field(default_factory=list)  # what was measured, for the report


def parse_peak(text: str, threads: int, want_avx512: bool) -> tuple[float | None, str]:
    """The fp32 FMA figure for `threads` threads from peak.cpp-style output (threads=N lines): the
    larger of the N-thread figure and N x the 1-thread one (cores are alike, and a core busy with
    something else pulls the N-thread run down while one thread still finds a free core). More
    threads than measured: the largest count measured, scaled linearly."""
    isa = "AVX-512" if want_avx512 else "AVX2"
    per = {}
    for line in text.splitlines():
        m = re.match(r"threads=(\d+)\s", line)
        v = re.search(r"fp32 " + re.escape(isa) + r" FMA ([0-9.]+) GFLOP/s", line)
        if m and v:
            per[int(m.group(1))] = float(v.group(1))
    if not per:
        return None, ""
    cands = []
    if threads in per:
        cands.append((per[threads], f"{isa} FMA, {threads}-thread run"))
    else:
        base = max(per)
        cands.append((per[base] * threads / base, f"{isa} FMA, {base}-thread run x {threads}/{base}"))
    if 1 in per and threads > 1:
        cands.append((per[1] * threads, f"{isa} FMA, 1-thread run x {threads}"))
    return max(cands)


def measure_peak(threads: int, which: str) -> Peak:
    """fp32 peak from ../shared/tools/peak.cpp and from bench/peak_fp32.cpp (same method, but its 12
    FMA chains start from distinct values: in peak.cpp, 1 + i*1e-7f rounds some chains to equal
    floats and GCC merges them, so it runs 10 FMAs per iteration and counts 12). `which` picks the
    one the fraction uses; the other is printed for comparison."""
    flags = cpu_flags()
    has512 = "avx512f" in flags
    bench_dir = os.path.join(REPO, "build", "bench")
    out = Peak()
    results: dict[str, tuple[float | None, str]] = {}

    # ../shared/tools/peak.cpp, as its header says: g++ -O2 -march=native -fopenmp (needs AVX-512 VNNI).
    if os.path.exists(SHARED_PEAK_SRC) and has512 and "avx512_vnni" in flags:
        exe = compile_cached(os.path.join(bench_dir, "peak_shared"), [SHARED_PEAK_SRC],
                             lambda b: run_cmd(["g++", "-O2", "-march=native", "-fopenmp", SHARED_PEAK_SRC, "-o", b]))
        if exe:
            txt = subprocess.run([exe], capture_output=True, text=True).stdout
            results["shared"] = parse_peak(txt, threads, True)
            out.lines.append("../shared/tools/peak.cpp: " + " / ".join(l.strip() for l in txt.splitlines() if l.strip()))
    # bench/peak_fp32*.cpp standalone: each ISA's chains in its own TU, built for that ISA only.
    srcs = [os.path.join(REPO, "bench", f) for f in ("peak_fp32.cpp", "peak_fp32_avx512.cpp", "peak_fp32_avx2.cpp")]

    def build_bench_peak(b: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            o512, o2 = os.path.join(tmp, "a512.o"), os.path.join(tmp, "a2.o")
            run_cmd(["g++", "-O2", "-mavx512f", "-mfma", "-c", srcs[1], "-o", o512])
            run_cmd(["g++", "-O2", "-mavx2", "-mfma", "-c", srcs[2], "-o", o2])
            run_cmd(["g++", "-O2", "-fopenmp", "-DSQUISH_PEAK_MAIN", srcs[0], o512, o2, "-o", b])

    if all(os.path.exists(s) for s in srcs):
        exe = compile_cached(os.path.join(bench_dir, "peak_fp32_standalone"), srcs, build_bench_peak)
        if exe:
            txt = subprocess.run([exe, str(threads)], capture_output=True, text=True).stdout
            results["bench"] = parse_peak(txt, threads, has512)
            out.lines.append("bench/peak_fp32.cpp: " + " / ".join(l.strip() for l in txt.splitlines() if l.strip()))

    order = [which] + [w for w in ("bench", "shared") if w != which]
    for w in order:
        g, how = results.get(w, (None, ""))
        if g:
            out.gflops = g
            out.source = ("bench/peak_fp32.cpp" if w == "bench" else "../shared/tools/peak.cpp") + f" ({how})"
            if w != which:
                out.source += f" [--peak-source {which} unavailable]"
            break
    return out


# ---------------------------------------------------------------------------------------------
# FLOPs (multiply-add = 2 FLOPs: Linears, QK^T and PV; row-wise ops not counted)


# ---------------------------------------------------------------------------------------------
# Engines


@dataclass
class Timing:
    median_ms: float
    runs_ms: list[float]

    @property
    def min_ms(self) -> float:
        return min(self.runs_ms)


def time_calls(fn, runs: int, warmup: int) -> Timing:
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return Timing(statistics.median(ms), ms)


def run_squish(squish: str, config: str, b: int, t: int, threads: int, runs: int, warmup: int,
               quant: str | None = None) -> tuple[Timing, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "squish.json")
        cmd = [squish, "bench", "--config", config, "--batch", str(b), "--seq", str(t), "--threads", str(threads),
               "--runs", str(runs), "--warmup", str(warmup), "--output", out]
        if quant:
            cmd += ["--quant", quant]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
        with open(out) as f:
            j = json.load(f)
    if j.get("threads") != threads:
        log(f"  warning: squish ran with {j.get('threads')} threads, asked for {threads}")
    # Median as this script computes it (squish bench takes the upper median of an even count).
    return Timing(statistics.median(j["run_ms"]), list(j["run_ms"])), j


def hf_config(cfg_json: dict):
    from transformers import BertConfig

    keep = {k: v for k, v in cfg_json.items() if k not in ("architectures", "transformers_version")}
    keep["num_labels"] = 2
    return BertConfig(**keep)


def build_torch_model(cfg_json: dict, attn_implementation: str | None = None):
    import torch
    from transformers import BertForSequenceClassification

    config = hf_config(cfg_json)
    if attn_implementation:
        config._attn_implementation = attn_implementation
    torch.manual_seed(0)
    return BertForSequenceClassification(config).eval()


def random_inputs(cfg_json: dict, b: int, t: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(0, cfg_json["vocab_size"], size=(b, t), dtype=np.int64)
    return ids, np.ones((b, t), dtype=np.int64), np.zeros((b, t), dtype=np.int64)


@dataclass
class OrtModel:
    session: object
    variant: str
    input_names: list[str]
    max_abs_diff: float | None = None  # against PyTorch on a small batch
    plain_path: str = ""               # the export as it came out of torch.onnx.export
    model_path: str = ""               # what the session runs (the optimized model when the optimizer worked)


def build_ort(model, cfg_json: dict, threads: int, tmp: str, no_optimizer: bool) -> OrtModel:
    """Exports `model` (eager attention, for a graph the BERT fusions recognise) to ONNX once, with
    dynamic batch and sequence axes, then tries the transformer optimizer."""
    import torch
    import warnings

    path = os.path.join(tmp, "bert.onnx")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids, mask, types = (torch.from_numpy(a) for a in random_inputs(cfg_json, 2, 16, 1))
    dyn = {n: {0: "batch", 1: "seq"} for n in names}
    dyn["logits"] = {0: "batch"}
    exporter = None
    for dynamo in (False, True):  # TorchScript graphs fuse best; the dynamo exporter as a fallback
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (ids, mask, types), path, input_names=names, output_names=["logits"],
                                  dynamic_axes=dyn, opset_version=17, dynamo=dynamo)
            exporter = "dynamo" if dynamo else "TorchScript"
            break
        except Exception as e:  # noqa: BLE001 - any exporter failure: try the other one
            log(f"  torch.onnx.export(dynamo={dynamo}) failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    if exporter is None:
        raise RuntimeError("ONNX export failed with both exporters")

    variant = f"{exporter} export, ORT graph optimizations ALL"
    model_path = path
    if not no_optimizer:
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            opt = optimize_model(path, model_type="bert", num_heads=cfg_json["num_attention_heads"],
                                 hidden_size=cfg_json["hidden_size"])
            stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
            opt_path = os.path.join(tmp, "bert_opt.onnx")
            opt.save_model_to_file(opt_path, use_external_data_format=True)
            model_path = opt_path
            fused = ", ".join(f"{k} x{v}" for k, v in sorted(stats.items())) or "nothing fused"
            variant = f"{exporter} export + transformers optimize_model(model_type='bert') [{fused}], ORT graph optimizations ALL"
        except Exception as e:  # noqa: BLE001 - fall back to the plain export
            log(f"  optimize_model failed ({type(e).__name__}: {e}); using the plain export")
            variant += " (transformer optimizer failed)"

    m = ort_model_from(model_path, variant, threads, model, cfg_json)
    m.plain_path = path
    return m


def ort_model_from(model_path: str, variant: str, threads: int, model, cfg_json: dict,
                   optimized_path: str | None = None) -> OrtModel:
    """A session on model_path and its largest logit difference from `model` (PyTorch) on a small batch."""
    import numpy as np
    import onnxruntime as ort
    import torch

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    in_names = [i.name for i in sess.get_inputs()]
    m = OrtModel(sess, variant, in_names, model_path=model_path)

    # Same answers as PyTorch on a small batch of another shape than the export's.
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids, mask, types = random_inputs(cfg_json, 3, 40, 2)
    feed = {k: v for k, v in zip(names, (ids, mask, types)) if k in in_names}
    got = sess.run(None, feed)[0]
    with torch.inference_mode():
        want = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                     token_type_ids=torch.from_numpy(types)).logits.numpy()
    m.max_abs_diff = float(np.max(np.abs(got - want)))
    return m


def integer_ops(path: str) -> str:
    """The integer ops in an ONNX graph (e.g. the one a session saved after its optimizations)."""
    import onnx
    from collections import Counter

    ops = Counter(n.op_type for n in onnx.load(path, load_external_data=False).graph.node)
    q = [f"{k} x{v}" for k, v in sorted(ops.items())
         if k.startswith("QLinear") or "Integer" in k or k in ("QAttention", "QGemm", "DynamicQuantizeMatMul",
                                                               "QEmbedLayerNormalization")]
    return ", ".join(q) or "none"


class RandomCalibration:
    """onnxruntime CalibrationDataReader: `batches` random-token batches of batch x seq, full mask."""

    def __init__(self, cfg_json: dict, input_names: set[str], batches: int, b: int, t: int, seed: int):
        names = ("input_ids", "attention_mask", "token_type_ids")
        self.feeds = [{k: v for k, v in zip(names, random_inputs(cfg_json, b, t, seed + i)) if k in input_names}
                      for i in range(batches)]
        self.pos = 0

    def get_next(self):
        if self.pos >= len(self.feeds):
            return None
        self.pos += 1
        return self.feeds[self.pos - 1]


def build_ort_int8(kind: str, base: OrtModel, model, cfg_json: dict, threads: int, tmp: str, args) -> OrtModel:
    """ort-int8-dynamic: quantize_dynamic of the model `ort` runs (optimized when the optimizer worked).
    ort-int8-static: quantize_static QDQ per channel MinMax of the Linears (MatMul with constant B, Gemm; their
    outputs not requantized), on the plain export after quant_pre_process or, with --ort-static-base optimized,
    on the optimized model."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    out = os.path.join(tmp, f"bert_{kind}.onnx")
    t0 = time.perf_counter()
    if kind == "ort-int8-dynamic":
        # The optimizer's contrib ops (SkipLayerNormalization, ...) leave their outputs untyped, and the quantizer
        # then stops ("Unable to find data type for weight_name=..."): symbolic shape inference first, without
        # optimizing again.
        from onnxruntime.quantization.shape_inference import quant_pre_process

        src, how = base.model_path, ("the optimized model" if base.model_path != base.plain_path else "the plain export")
        pre = os.path.join(tmp, "bert_dyn_pre.onnx")
        try:
            with contextlib.chdir(tmp):  # a failed symbolic inference drops a debug model in the cwd
                quant_pre_process(src, pre, skip_optimization=True, auto_merge=True, save_as_external_data=True)
            src, how = pre, how + " after quant_pre_process(skip_optimization=True, auto_merge=True)"
        except Exception as e:  # noqa: BLE001 - quantize it as it is
            log(f"  quant_pre_process failed ({type(e).__name__}: {e}); quantizing {how} as it is")
        quantize_dynamic(src, out, per_channel=True, weight_type=QuantType.QInt8, use_external_data_format=True)
        variant = f"quantize_dynamic(weight QInt8, per_channel) of {how}"
    else:
        src, how = base.plain_path, "the plain export"
        if args.ort_static_base == "optimized":
            src, how = base.model_path, "the optimized model"
        else:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            pre = os.path.join(tmp, "bert_pre.onnx")
            try:
                with contextlib.chdir(tmp):
                    quant_pre_process(src, pre, auto_merge=True, save_as_external_data=True)
                src, how = pre, "the plain export after quant_pre_process(auto_merge=True)"
            except Exception as e:  # noqa: BLE001 - quantize the export as it is
                log(f"  quant_pre_process failed ({type(e).__name__}: {e}); quantizing the plain export")
        g = onnx.load(src, load_external_data=False).graph
        inits = {i.name for i in g.initializer}
        nodes = [n.name for n in g.node if (n.op_type == "MatMul" and n.input[1] in inits) or n.op_type == "Gemm"]
        reader = RandomCalibration(cfg_json, {i.name for i in g.input}, args.calib_batches, 8, 128, args.seed + 1000)
        quantize_static(src, out, reader, quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul", "Gemm"],
                        nodes_to_quantize=nodes, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        use_external_data_format=True,
                        extra_options={"OpTypesToExcludeOutputQuantization": ["MatMul", "Gemm"]})
        variant = (f"quantize_static(QDQ, per_channel, MinMax, activations QUInt8, weights QInt8) of {how}: "
                   f"{len(nodes)} Linears (MatMul with constant B, Gemm), outputs not requantized; calibrated on "
                   f"{args.calib_batches} random-token batches of 8x128")
    secs = time.perf_counter() - t0
    saved = os.path.join(tmp, f"bert_{kind}.session.onnx")
    m = ort_model_from(out, variant, threads, model, cfg_json, optimized_path=saved)
    m.plain_path = base.plain_path
    ints = integer_ops(saved) if os.path.exists(saved) else "?"
    m.variant = f"{variant}; quantized in {secs:.1f} s; integer ops the session runs: {ints}"
    return m


# ---------------------------------------------------------------------------------------------
# Report


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def build_rows(results: list[dict], engines: list[str]) -> tuple[list[str], list[list[str]]]:
    """The fp32 table (squish, ort, torch as before)."""
    engines = [e for e in engines if e in DEFAULT_ENGINES]
    head = ["batch x seq"]
    head += [f"{ENGINE_TITLES[e]} ms" for e in engines]
    head += [f"{ENGINE_TITLES[e]} seq/s" for e in engines]
    if "squish" in engines and "ort" in engines:
        head.append("squish/ORT")
    if "squish" in engines and "torch" in engines:
        head.append("squish/PyTorch")
    if "squish" in engines:
        head += ["squish GFLOP/s", "% of fp32 peak"]
    rows = []
    for r in results:
        row = [f"{r['batch']} x {r['seq']}"]
        row += [fmt(r["engines"].get(e, {}).get("median_ms"), ".1f") for e in engines]
        row += [fmt(r["engines"].get(e, {}).get("sequences_per_second"), ".1f") for e in engines]
        if "squish" in engines and "ort" in engines:
            row.append(fmt(r.get("squish/ort"), ".2f"))
        if "squish" in engines and "torch" in engines:
            row.append(fmt(r.get("squish/torch"), ".2f"))
        if "squish" in engines:
            sq = r["engines"].get("squish", {})
            row.append(fmt(sq.get("gflops_per_second"), ".1f"))
            row.append(fmt(None if sq.get("peak_fraction") is None else 100 * sq["peak_fraction"], ".0f"))
        rows.append(row)
    return head, rows


def text_table(head: list[str], rows: list[list[str]]) -> str:
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head))]
    lines.append("  ".join("-" * x for x in w))
    lines += ["  ".join(c.rjust(w[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(lines)


def build_int8_rows(results: list[dict], engines: list[str]) -> tuple[list[str], list[list[str]]]:
    """The int8 table: each int8 engine's ms and seq/s, every engine against squish fp32 (its seq/s over squish's:
    above 1 = faster than squish fp32), and squish int8 against ORT's best int8 (above 1 = squish faster)."""
    int8 = [e for e in engines if e in INT8_ENGINES]
    others = [e for e in engines if e != "squish"]
    head = ["batch x seq"] + [f"{ENGINE_TITLES[e]} ms" for e in int8] + [f"{ENGINE_TITLES[e]} seq/s" for e in int8]
    if "squish" in engines:
        head += [f"{ENGINE_TITLES[e]} / squish fp32" for e in others]
    ort8 = [e for e in int8 if e.startswith("ort-")]
    sq8 = [e for e in int8 if e.startswith("squish-")]
    if ort8 and sq8:
        head += [f"{ENGINE_TITLES[e]} / best ORT int8" for e in sq8] + ["best ORT int8"]
    rows = []
    for r in results:
        row = [f"{r['batch']} x {r['seq']}"]
        row += [fmt(r["engines"].get(e, {}).get("median_ms"), ".1f") for e in int8]
        row += [fmt(r["engines"].get(e, {}).get("sequences_per_second"), ".1f") for e in int8]
        if "squish" in engines:
            row += [fmt(r.get("vs_squish_fp32", {}).get(e), ".2f") for e in others]
        if ort8 and sq8:
            row += [fmt(r.get(f"{e}/best_ort_int8"), ".2f") for e in sq8]
            row.append(ENGINE_TITLES.get(r.get("best_ort_int8"), "-"))
        rows.append(row)
    return head, rows


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def describe(meta: dict) -> list[str]:
    out = [
        f"CPU: {meta['cpu']} ({meta['cores']} cores visible), threads: {meta['threads']} for every engine",
        f"Load average before / after: {meta['load_before']} / {meta['load_after']}",
        f"Model: BERT-base shapes from {meta['config']}, random weights, 2 labels, fp32, random ids, full attention mask",
        f"Runs: median of {meta['runs_desc']} timed forwards after warm-up",
        f"Versions: squish {meta['squish_rev']}, torch {meta.get('torch', '-')}, transformers {meta.get('transformers', '-')}, "
        f"onnxruntime {meta.get('onnxruntime', '-')}, Python {platform.python_version()}",
    ]
    if meta.get("squish_isa"):
        out.append(f"squish: build/squish bench, ISA {meta['squish_isa']}")
    if meta.get("torch_attn"):
        out.append(f"PyTorch: eager, torch.inference_mode(), attention implementation '{meta['torch_attn']}'")
    if meta.get("ort_variant"):
        d = meta.get("ort_max_abs_diff")
        out.append(f"ONNX Runtime: {meta['ort_variant']}; CPU EP, intra_op_num_threads={meta['threads']}"
                   + ("" if d is None else f"; max |logit diff| vs PyTorch {d:.1e}"))
    for e, v in meta.get("int8", {}).items():
        d = v.get("max_abs_diff")
        out.append(f"{ENGINE_TITLES[e]}: {v['variant']}"
                   + ("" if d is None else f"; max |logit diff| vs PyTorch fp32 {d:.1e} (random weights)"))
    for e, why in meta.get("failed", {}).items():
        out.append(f"{ENGINE_TITLES[e]}: FAILED, left out: {why}")
    if meta.get("peak_gflops"):
        out.append(f"fp32 peak: {meta['peak_gflops']:.1f} GFLOP/s from {meta['peak_source']}")
    for line in meta.get("peak_lines", []):
        out.append(f"  measured: {line}")
    saved = meta.get("squish_flops_saved")
    out.append("squish GFLOP/s counts the FLOPs squish executes: its last layer runs [CLS] only past the QKV GEMM"
               + (f" ({saved} fewer FLOPs than the full forward PyTorch and ORT compute)" if saved else "")
               + "; multiply-adds as 2 FLOPs, row-wise ops not counted")
    return out


# ---------------------------------------------------------------------------------------------


def parse_shapes(s: str) -> list[tuple[int, int]]:
    shapes = []
    for part in s.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", part)
        if not m:
            raise argparse.ArgumentTypeError(f"shape {part!r}: expected BATCHxSEQ, e.g. 32x128")
        shapes.append((int(m.group(1)), int(m.group(2))))
    return shapes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=0, help="threads for every engine (default: all cores)")
    ap.add_argument("--shapes", type=parse_shapes, default=list(DEFAULT_SHAPES),
                    help="BATCHxSEQ list (default: 1x128,32x128,8x512)")
    ap.add_argument("--runs", type=int, default=0,
                    help="timed runs per shape and engine (default: 20 for 1x128, 5 for 32x128, 3 for 8x512, else 5)")
    ap.add_argument("--warmup", type=int, default=-1, help="untimed runs first (default: 3 for 1x128, else 1)")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help="subset of " + ",".join(ENGINES) + " (default: squish,ort,torch)")
    ap.add_argument("--config", default=DEFAULT_CONFIG, help="BERT config.json (default: bert-base-uncased)")
    ap.add_argument("--squish", default=os.path.join(REPO, "build", "squish"), help="the squish binary")
    ap.add_argument("--no-ort-optimizer", action="store_true", help="skip onnxruntime.transformers.optimizer")
    ap.add_argument("--ort-static-base", choices=("plain", "optimized"), default="plain",
                    help="ort-int8-static quantizes the plain export after quant_pre_process (default) or the "
                         "optimized model (whose fused Attention nodes keep their QKV weights fp32)")
    ap.add_argument("--calib-batches", type=int, default=4,
                    help="ort-int8-static: random-token calibration batches of 8x128 (default 4)")
    ap.add_argument("--peak-source", choices=("bench", "shared"), default="bench",
                    help="fp32 peak for the fraction: bench/peak_fp32.cpp (default) or ../shared/tools/peak.cpp, "
                         "which counts 12 FMA chains where GCC runs 10 (see docs/benchmarks.md)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--markdown", help="also write the table and its notes as markdown here")
    ap.add_argument("--json", help="also write every timing as JSON here")
    args = ap.parse_args()

    engines = parse_engines(ap, args.engines, ENGINES)  # one order: fp32 engines first
    threads = args.threads if args.threads > 0 else all_cores()
    with open(args.config) as f:
        cfg = json.load(f)
    squish_engines = [e for e in engines if e in SQUISH_QUANT]
    have_squish = os.access(args.squish, os.X_OK)
    if squish_engines and not have_squish:
        ap.error(f"{args.squish} not found: build squish first (cmake --build build)")

    def plan(b: int, t: int) -> tuple[int, int]:
        runs, warm = DEFAULT_SHAPES.get((b, t), (5, 1))
        return (args.runs or runs), (warm if args.warmup < 0 else args.warmup)

    rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True, text=True)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(), "cores": all_cores(), "threads": threads,
        "config": os.path.relpath(args.config, REPO), "load_before": "%.2f %.2f %.2f" % os.getloadavg(),
        "squish_rev": rev.stdout.strip() or "?",
        "runs_desc": ", ".join(f"{plan(b, t)[0]} ({b}x{t})" for b, t in args.shapes),
        "engines": engines,
    }
    failed: dict[str, str] = {}
    meta["failed"] = failed
    log(f"CPU: {meta['cpu']}, {threads} threads, load {meta['load_before']}")

    log("fp32 peak ...")
    peak = measure_peak(threads, args.peak_source)
    meta.update(peak_gflops=peak.gflops, peak_source=peak.source, peak_lines=peak.lines)

    torch_models: dict[str, object] = {}
    ort_models: dict[str, OrtModel] = {}
    want_ort = [e for e in engines if e in ("ort", "ort-int8-dynamic", "ort-int8-static")]
    tmpdir = tempfile.mkdtemp(prefix="squish_e2e_")
    try:
        if "torch" in engines or "torch-int8-dynamic" in engines or want_ort:
            import torch
            import transformers

            torch.set_num_threads(threads)
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:
                pass
            meta["torch"], meta["transformers"] = torch.__version__, transformers.__version__
            log("PyTorch model ...")
            torch_model = build_torch_model(cfg)
            torch_models["torch"] = torch_model
            meta["torch_attn"] = getattr(torch_model.config, "_attn_implementation", "?")
            if "torch-int8-dynamic" in engines:
                try:
                    q, secs, nq = torch_dynamic_int8(torch_model)
                    ids, mask, types = (torch.from_numpy(a) for a in random_inputs(cfg, 3, 40, 2))
                    with torch.inference_mode():
                        d = float((q(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
                                   - torch_model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits)
                                  .abs().max())
                    torch_models["torch-int8-dynamic"] = q
                    meta.setdefault("int8", {})["torch-int8-dynamic"] = {
                        "variant": f"quantize_dynamic(model, {{nn.Linear}}, dtype=torch.qint8) of the eager model: "
                                   f"{nq} int8 Linear, engine {torch.backends.quantized.engine}; quantized in {secs:.1f} s",
                        "max_abs_diff": d}
                except Exception as e:  # noqa: BLE001 - an int8 peer that fails is reported, not fatal
                    failed["torch-int8-dynamic"] = f"{type(e).__name__}: {e}"
            if "torch" not in engines:
                torch_models.pop("torch")
        if want_ort:
            import onnxruntime

            meta["onnxruntime"] = onnxruntime.__version__
            log("ONNX export + optimizer ...")
            # Eager attention for the export: the graph the BERT fusions recognise. Same weights.
            export_model = build_torch_model(cfg, "eager")
            export_model.load_state_dict(torch_model.state_dict())
            base = build_ort(export_model, cfg, threads, tmpdir, args.no_ort_optimizer)
            meta["ort_variant"], meta["ort_max_abs_diff"] = base.variant, base.max_abs_diff
            log(f"  {base.variant}")
            if "ort" in engines:
                ort_models["ort"] = base
            for e in ("ort-int8-dynamic", "ort-int8-static"):
                if e in engines:
                    log(f"{ENGINE_TITLES[e]}: quantizing ...")
                    try:
                        m = build_ort_int8(e, base, export_model, cfg, threads, tmpdir, args)
                        ort_models[e] = m
                        meta.setdefault("int8", {})[e] = {"variant": m.variant, "max_abs_diff": m.max_abs_diff}
                        log(f"  {m.variant}")
                    except Exception as ex:  # noqa: BLE001 - an int8 peer that fails is reported, not fatal
                        failed[e] = f"{type(ex).__name__}: {str(ex).strip().splitlines()[0][:300] if str(ex).strip() else ''}"
            del export_model
        for e, why in failed.items():
            log(f"  {ENGINE_TITLES[e]} FAILED: {why}")

        results = []
        for b, t in args.shapes:
            runs, warm = plan(b, t)
            r = {"batch": b, "seq": t, "runs": runs, "warmup": warm, "engines": {}}
            ids, mask, types = random_inputs(cfg, b, t, args.seed)
            # One FLOP model, squish's: its bench JSON gives the FLOPs it executes and those of a whole
            # forward (every layer on every token, what PyTorch and ORT compute).
            squish_runs: dict[str, tuple[Timing, dict]] = {}
            if "squish" in engines:
                squish_runs["squish"] = run_squish(args.squish, args.config, b, t, threads, runs, warm)
            full_gflop = None
            if squish_runs:
                full_gflop = squish_runs["squish"][1]["full_forward_gflop"]
            elif have_squish:
                try:
                    full_gflop = run_squish(args.squish, args.config, b, t, threads, 1, 0)[1]["full_forward_gflop"]
                except RuntimeError as ex:
                    log(f"  FLOP count from squish bench failed: {ex}")
            r["full_forward_gflop"] = full_gflop
            for e in engines:
                if e in failed:
                    continue
                log(f"{b}x{t}: {ENGINE_TITLES[e]} ({runs} runs after {warm} warm-up) ...")
                extra: dict = {}
                if e in SQUISH_QUANT:
                    if e not in squish_runs:
                        try:
                            squish_runs[e] = run_squish(args.squish, args.config, b, t, threads, runs, warm,
                                                        SQUISH_QUANT[e])
                        except RuntimeError as ex:  # e.g. a squish without --quant static
                            failed[e] = " / ".join(x.strip() for x in str(ex).strip().splitlines() if x.strip())[:400]
                            log(f"  FAILED: {failed[e]}")
                            continue
                    tm, j = squish_runs[e]
                    meta["squish_isa"] = j["host"]["isa"]
                    extra = {"executed_gflop": j["forward_gflop"]}
                    if e != "squish":
                        extra["quant"] = j.get("quant")
                        if j.get("quant_options") is not None:
                            extra["quant_options"] = j.get("quant_options")
                        if full_gflop is None:
                            full_gflop = r["full_forward_gflop"] = j["full_forward_gflop"]
                elif e in torch_models:
                    import torch

                    feed = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                            "token_type_ids": torch.from_numpy(types)}
                    tmodel = torch_models[e]

                    def fwd():
                        with torch.inference_mode():
                            tmodel(**feed)

                    tm = time_calls(fwd, runs, warm)
                else:
                    om = ort_models[e]
                    feed = {k: v for k, v in zip(("input_ids", "attention_mask", "token_type_ids"), (ids, mask, types))
                            if k in om.input_names}
                    tm = time_calls(lambda: om.session.run(None, feed), runs, warm)
                d = {"median_ms": tm.median_ms, "min_ms": tm.min_ms, "run_ms": tm.runs_ms,
                     "sequences_per_second": b / (tm.median_ms / 1e3),
                     "full_forward_gflops_per_second": None if full_gflop is None else full_gflop / (tm.median_ms / 1e3)}
                if e in SQUISH_QUANT:
                    d["gflops_per_second"] = extra["executed_gflop"] / (tm.median_ms / 1e3)
                    d["peak_fraction"] = d["gflops_per_second"] / peak.gflops if peak.gflops else None
                d.update(extra)
                r["engines"][e] = d
                log(f"  median {tm.median_ms:.1f} ms, {d['sequences_per_second']:.1f} seq/s")
            sps = {e: v["sequences_per_second"] for e, v in r["engines"].items()}
            sq = r["engines"].get("squish")
            if sq and "ort" in r["engines"]:
                r["squish/ort"] = sq["sequences_per_second"] / r["engines"]["ort"]["sequences_per_second"]
            if sq and "torch" in r["engines"]:
                r["squish/torch"] = sq["sequences_per_second"] / r["engines"]["torch"]["sequences_per_second"]
            if sq:
                r["vs_squish_fp32"] = {e: v / sps["squish"] for e, v in sps.items() if e != "squish"}
            ort8 = {e: v for e, v in sps.items() if e in ("ort-int8-dynamic", "ort-int8-static")}
            if ort8:
                best = max(ort8, key=ort8.get)
                r["best_ort_int8"] = best
                for e in ("squish-dynamic", "squish-static"):
                    if e in sps:
                        r[f"{e}/best_ort_int8"] = sps[e] / ort8[best]
            results.append(r)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    meta["load_after"] = "%.2f %.2f %.2f" % os.getloadavg()
    saved = sorted(1 - r["engines"]["squish"]["executed_gflop"] / r["full_forward_gflop"]
                   for r in results if "squish" in r["engines"])
    if saved:
        meta["squish_flops_saved"] = (f"{100 * saved[0]:.1f}%" if saved[-1] - saved[0] < 0.001
                                      else f"{100 * saved[0]:.1f}-{100 * saved[-1]:.1f}%")
    ran = [e for e in engines if e not in failed]
    tables = []
    if any(e in DEFAULT_ENGINES for e in ran):
        tables.append(("fp32", *build_rows(results, ran)))
    if any(e in INT8_ENGINES for e in ran):
        tables.append(("int8", *build_int8_rows(results, ran)))
    notes = describe(meta)
    print()
    print("\n".join(notes))
    for name, head, rows in tables:
        print()
        if len(tables) > 1:
            print(f"{name}:")
        print(text_table(head, rows))
    if args.markdown:
        cmdline = " ".join(["python3", "bench/e2e_bert_base.py"] + sys.argv[1:])
        md = [f"Measured {meta['date']} with `{cmdline}`.", ""]
        md += [f"- {n.strip()}" if not n.startswith("  ") else f"  - {n.strip()}" for n in notes]
        for name, head, rows in tables:
            md += [""]
            if name == "int8":
                md += ["Int8: `X / squish fp32` is X's sequences/s over squish fp32's (above 1: faster than squish "
                       "fp32); `squish int8 ... / best ORT int8` is over the faster of ORT's int8 engines at that "
                       "shape (above 1: squish faster).", ""]
            md += [markdown_table(head, rows)]
        md += [""]
        with open(args.markdown, "w") as f:
            f.write("\n".join(md))
        log(f"markdown: {args.markdown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=2)
            f.write("\n")
        log(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
