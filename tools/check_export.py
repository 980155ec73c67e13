#!/usr/bin/env python3
"""`squish export` against HF transformers: for every sequence classifier in shared/models, export it
with squish (F32 and F16), load the exported directory with transformers and check that

  - the F32 export loads to a state dict bit-identical to the original's (loaded in fp32), and its
    logits on SST-2 dev sentences and MRPC dev pairs are identical where the original's data section
    is 64-byte aligned as squish writes it (transformers computes on mapped F32 tensors in place, and
    its GEMM kernels round differently on other alignments: within 1e-6 then);
  - the F16 export holds exactly the original's F16 values where the original is stored in F16
    (every shared MiniLM is), and its logits are within F16 rounding of the original otherwise.

Exits non-zero on any difference. Usage:
  python3 tools/check_export.py [--squish build/squish] [--shared ../shared] [--examples 64]
Versions used: torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3, safetensors 0.8.0.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile


def classifiers(shared):
    root = os.path.join(shared, "models")
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        cfg = os.path.join(d, "config.json")
        if not os.path.isfile(cfg):
            continue
        c = json.load(open(cfg))
        has_weights = any(os.path.isfile(os.path.join(d, f)) for f in ("model.safetensors", "pytorch_model.bin"))
        if has_weights and c.get("model_type") == "bert" and any(
                a.endswith("ForSequenceClassification") for a in c.get("architectures", [])):
            yield name, d


def glue_inputs(shared, n):
    def rows(task):
        path = os.path.join(shared, "data", "glue", task, "dev.tsv")
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    sst2 = [(r["sentence"], None) for r in rows("sst2")]
    mrpc = [(r["#1 String"], r["#2 String"]) for r in rows("mrpc")]
    return sst2 + mrpc


def logits(model, tok, inputs, torch):
    out = []
    with torch.no_grad():
        for text, pair in inputs:
            enc = tok(text, pair, truncation=True, max_length=128, return_tensors="pt")
            out.append(model(**enc).logits[0])
    return torch.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--squish", default="build/squish")
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--examples", type=int, default=64)
    args = ap.parse_args()
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, BertTokenizerFast
    torch.set_num_threads(2)
    inputs = glue_inputs(args.shared, args.examples)
    failures = 0
    checked = 0
    for name, src in classifiers(args.shared):
        with tempfile.TemporaryDirectory() as tmp:
            outs = {}
            for dtype in ("f32", "f16"):
                out = os.path.join(tmp, dtype)
                subprocess.run([args.squish, "export", "--model_dir", src, "--output_dir", out, "--dtype", dtype],
                               check=True, stdout=subprocess.DEVNULL)
                outs[dtype] = out
            tok = BertTokenizerFast(os.path.join(src, "vocab.txt"), do_lower_case=True)
            ref = AutoModelForSequenceClassification.from_pretrained(src, dtype=torch.float32).eval()
            exp = AutoModelForSequenceClassification.from_pretrained(outs["f32"], dtype=torch.float32).eval()
            ra, rb = ref.state_dict(), exp.state_dict()
            same_weights = ra.keys() == rb.keys() and all(torch.equal(ra[k], rb[k]) for k in ra)
            a, b = logits(ref, tok, inputs, torch), logits(exp, tok, inputs, torch)
            f32_diff = (a - b).abs().max().item()
            ok = same_weights and f32_diff <= 1e-6
            orig_path = os.path.join(src, "model.safetensors")
            f16_note = "original not safetensors"
            if os.path.isfile(orig_path):
                orig, half = load_file(orig_path), load_file(os.path.join(outs["f16"], "model.safetensors"))
                names = [k for k in orig if k in half]
                if all(orig[k].dtype == torch.float16 for k in names):
                    same = all(torch.equal(orig[k], half[k]) for k in names)
                    ok = ok and same and len(names) >= len(half)
                    f16_note = "F16 tensors identical" if same else "F16 tensors DIFFER"
                else:
                    h = AutoModelForSequenceClassification.from_pretrained(outs["f16"], dtype=torch.float32).eval()
                    d16 = (a - logits(h, tok, inputs, torch)).abs().max().item()
                    f16_note = f"F16 export max |logit diff| {d16:.2e}"
                    ok = ok and d16 < 1e-2
            print(f"{name}: F32 export {'identical' if same_weights else 'DIFFERENT'} weights, max |logit diff| "
                  f"{f32_diff:.1e} over {len(inputs)} inputs; {f16_note}: "
                  f"{'ok' if ok else 'FAIL'}")
            failures += not ok
            checked += 1
    print(f"{checked - failures} passed, {failures} failed")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
