#!/usr/bin/env python3
"""Training throughput, squish vs PyTorch side by side: tokens/s of whole optimizer steps.

Both engines train a BertForSequenceClassification (2 labels) on random token ids (full length, no
padding, token type 0, random labels) with the same thread count, batch and sequence length, on two
shapes:

  minilm     ../shared/models/minilm-l6-sst2 (6 layers, H 384, 12 heads, FFN 1536), its real weights
  bert-base  ../shared/models/bert-base-uncased-vocab/config.json (12 layers, H 768, FFN 3072),
             random weights (speed does not depend on the values)

  torch-eager, torch-sdpa  HF transformers with attn_implementation "eager" / "sdpa", train mode
             (dropout 0.1 on), torch.optim.AdamW (lr 5e-5, weight decay 0.01); a step is zero_grad,
             forward with labels, backward, clip_grad_norm_(1.0), optimizer.step(). --warmup untimed
             steps, then --steps timed ones; tokens/s = batch * seq * steps / their seconds.
  squish     `squish bench --train ... --runs N --warmup W --output OUT` (random weights for bert-base
             through --config, as `squish bench` takes them): the same step (dropout from the config,
             clipping, AdamW); its JSON's train.tokens_per_second is batch * seq / the median step.
             Skipped, with the reason, when the binary is missing: a number is never made up.

Prints a table (engine, shape, tokens/s, ratio to torch-eager on that shape) and the load average
before and after (a busy machine gives low numbers; see docs/benchmarks.md); --json writes it all.

  python3 bench/train_throughput.py                              # both shapes, all cores, 5 steps
  python3 bench/train_throughput.py --shapes minilm --steps 3 --threads 2 --json /tmp/train.json
This is a measuring tool only: it checks nothing about training's numerics (tools/make_training_golden.py
and the tests do).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared"))
SHAPES = {
    "minilm": {"model_dir": os.path.join(SHARED, "models", "minilm-l6-sst2")},
    "bert-base": {"config": os.path.join(SHARED, "models", "bert-base-uncased-vocab", "config.json")},
}
ENGINES = ("torch-eager", "torch-sdpa", "squish")
BASELINE = "torch-eager"
LEARNING_RATE, WEIGHT_DECAY, MAX_GRAD_NORM = 5e-5, 0.01, 1.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def all_cores() -> int:
    return len(os.sched_getaffinity(0))


def load_average() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        return m.group(1).strip() if m else platform.processor()
    except OSError:
        return platform.processor() or "unknown"


def comma_list(ap: argparse.ArgumentParser, flag: str, text: str, known) -> list[str]:
    asked = [x.strip() for x in text.split(",") if x.strip()]
    for x in asked:
        if x not in known:
            ap.error(f"{flag}: unknown {x!r} (expected some of {', '.join(known)})")
    return [x for x in known if x in asked]


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_model(shape: dict, attn_implementation: str, seed: int):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    if "model_dir" in shape:
        return BertForSequenceClassification.from_pretrained(shape["model_dir"], dtype=torch.float32,
                                                             attn_implementation=attn_implementation)
    with open(shape["config"]) as f:
        cfg = {k: v for k, v in json.load(f).items() if k not in ("architectures", "transformers_version")}
    config = BertConfig(**{**cfg, "num_labels": 2})
    config._attn_implementation = attn_implementation
    return BertForSequenceClassification(config)


def random_batches(vocab_size: int, count: int, batch: int, seq: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    return [{"input_ids": torch.randint(0, vocab_size, (batch, seq), generator=g),
             "attention_mask": torch.ones(batch, seq, dtype=torch.long),
             "token_type_ids": torch.zeros(batch, seq, dtype=torch.long),
             "labels": torch.randint(0, 2, (batch,), generator=g)} for _ in range(count)]


def run_torch(shape: dict, attn_implementation: str, args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    model = torch_model(shape, attn_implementation, args.seed).train()
    if model.config._attn_implementation != attn_implementation:
        raise RuntimeError(f"transformers chose attention {model.config._attn_implementation!r}, "
                           f"asked for {attn_implementation!r}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    batches = random_batches(model.config.vocab_size, args.warmup + args.steps, args.batch, args.seq, args.seed)
    step_seconds, losses = [], []
    for i, batch in enumerate(batches):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        seconds = time.perf_counter() - t0
        if i >= args.warmup:
            step_seconds.append(seconds)
            losses.append(float(loss.detach()))
    parameters = sum(p.numel() for p in model.parameters())
    del model, optimizer, batches
    gc.collect()
    return {"tokens_per_second": args.batch * args.seq * len(step_seconds) / sum(step_seconds),
            "step_seconds": step_seconds, "losses": losses, "threads": torch.get_num_threads(),
            "parameters": parameters, "attn_implementation": attn_implementation}


# ---------------------------------------------------------------------------------------------
# squish


def run_squish(shape: dict, args) -> dict:
    if not os.access(args.squish, os.X_OK):
        raise RuntimeError(f"{args.squish} is not an executable (build it: cmake --build build --target squish)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "train.json")
        source = ["--model_dir", shape["model_dir"]] if "model_dir" in shape else ["--config", shape["config"]]
        cmd = [args.squish, "bench", "--train", *source, "--batch", str(args.batch), "--seq", str(args.seq),
               "--runs", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads),
               "--output", out]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
        with open(out) as f:
            train = json.load(f)["train"]
    for key, want in (("batch_size", args.batch), ("sequence_length", args.seq), ("threads", args.threads)):
        if train.get(key) != want:
            raise RuntimeError(f"squish's train JSON says {key} {train.get(key)}, asked for {want}")
    return {"tokens_per_second": float(train["tokens_per_second"]), "step_seconds": list(train["step_seconds"]),
            "threads": train["threads"], "command": " ".join(cmd)}


# ---------------------------------------------------------------------------------------------
# Report


def versions() -> dict:
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__}


def table(results: list[dict]) -> str:
    baseline = {r["shape"]: r["tokens_per_second"] for r in results if r["engine"] == BASELINE and "tokens_per_second" in r}
    head = ["engine", "shape", "tokens/s", f"vs {BASELINE}"]
    rows = []
    for r in results:
        if "tokens_per_second" not in r:
            rows.append([r["engine"], r["shape"], "skipped", "-"])
            continue
        base = baseline.get(r["shape"])
        rows.append([r["engine"], r["shape"], f"{r['tokens_per_second']:.1f}",
                     f"{r['tokens_per_second'] / base:.2f}x" if base else "-"])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *rows]]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=0, help="threads for every engine (default: all cores)")
    ap.add_argument("--steps", type=int, default=5, help="timed optimizer steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed PyTorch steps first")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--shapes", default=",".join(SHAPES), help=f"some of {', '.join(SHAPES)}")
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"some of {', '.join(ENGINES)}")
    ap.add_argument("--squish", default=os.path.join(REPO, "build", "squish"), help="the squish binary")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", help="write the settings, machine, load and every timing here")
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.batch < 1 or args.seq < 1 or args.threads < 0:
        ap.error("--steps, --batch and --seq must be positive; --warmup and --threads not negative")
    args.threads = args.threads or all_cores()
    shapes = comma_list(ap, "--shapes", args.shapes, SHAPES)
    engines = comma_list(ap, "--engines", args.engines, ENGINES)

    meta = {"made_by": "bench/train_throughput.py", "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "cpu": cpu_model(), "cores": all_cores(), "threads": args.threads, "batch": args.batch, "seq": args.seq,
            "steps": args.steps, "torch_warmup_steps": args.warmup, "seed": args.seed,
            "torch_optimizer": {"name": "torch.optim.AdamW", "lr": LEARNING_RATE, "weight_decay": WEIGHT_DECAY,
                                "max_grad_norm": MAX_GRAD_NORM, "dropout": "config (train mode)"},
            "versions": versions(), "load_before": load_average()}
    log(f"load average before: {meta['load_before']}; {args.threads} threads, batch {args.batch}, seq {args.seq}, "
        f"{args.steps} steps")
    results = []
    for shape_name in shapes:
        shape = SHAPES[shape_name]
        for engine in engines:
            log(f"{engine} on {shape_name} ...")
            row = {"engine": engine, "shape": shape_name, **shape}
            try:
                row.update(run_squish(shape, args) if engine == "squish" else
                           run_torch(shape, engine.removeprefix("torch-"), args))
                log(f"  {row['tokens_per_second']:.1f} tokens/s")
            except RuntimeError as e:
                if engine != "squish":
                    raise
                row["skipped"] = str(e)
                log(f"  squish skipped: {e}")
            results.append(row)
    meta["load_after"] = load_average()

    print(table(results))
    print(f"load average before {meta['load_before']}, after {meta['load_after']} ({meta['cores']} cores, "
          f"{args.threads} threads)")
    for r in results:
        if "skipped" in r:
            print(f"{r['engine']} on {r['shape']} skipped: {r['skipped']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**meta, "results": results}, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
