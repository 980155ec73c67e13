#!/usr/bin/env python3
"""Reference logits for every sequence classifier in shared/models, made by HF transformers + torch.

For each model directory that holds a *ForSequenceClassification config and weights, writes
<out>/<model>.json.gz with:
  - versions of the reference libraries,
  - logits (fp32, PyTorch eager, batches of similar length with HF's attention mask) for every SST-2 dev sentence and
    every MRPC dev pair at max_length 128, and for the first `--imdb` IMDB test reviews (by file
    order, balanced over both classes) at max_length 512,
  - the reference accuracies the model's section of shared/models/README.md states, parsed from its text.
Token ids come from HF `tokenizers` (BertTokenizerFast over the model's vocab.txt), never from squish.

Usage: python3 tools/make_model_goldens.py [--shared ../shared] [--out tests/fixtures/models] [--missing-only]
Versions used for the committed goldens: torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3.
"""
import argparse
import csv
import gzip
import json
import os
import re
import sys


# torch and transformers are imported only when a golden is actually made, so checking for
# missing goldens works on a machine without them.


def read_glue_tsv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_imdb(path, per_class):
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    neg = [i for i, r in enumerate(rows) if r["label"] == 0][:per_class]
    pos = [i for i, r in enumerate(rows) if r["label"] == 1][:per_class]
    return [(i, rows[i]["text"], rows[i]["label"]) for i in neg + pos]


def readme_references(readme_text, model_name):
    """The accuracies stated in the model's README section, e.g. 'SST-2 dev 0.8096 (706/872) at max_length 128'."""
    section = re.search(r"^## " + re.escape(model_name) + r"\s*$(.*?)(?=^## |\Z)", readme_text, re.M | re.S)
    if not section:
        return {}
    text = re.sub(r"\s+", " ", section.group(1).replace("*", ""))
    refs = {}
    patterns = {
        "sst2_dev": r"SST-2 dev:?\s+([01]\.\d+)",
        "mrpc_dev": r"MRPC dev:?\s+([01]\.\d+)",
        "imdb_test": r"IMDB test[^:\n]*:\s*([01]\.\d+)",
    }
    for key, pattern in patterns.items():
        m = re.search(pattern, text)
        if m:
            refs[key] = float(m.group(1))
    m = re.search(r"IMDB test[^:\n]*?at max_length (\d+)", text)
    if m:
        refs["imdb_max_length"] = int(m.group(1))
    return refs


def logits_of(model, tok, texts, pairs, max_length, batch_size=16):
    """Logits in input order. Batches of similar length (padding masked, as HF does) keep this fast
    enough for CI; padded and unpadded runs agree to ~1e-6, far inside the tests' 1e-4."""
    import torch
    order = sorted(range(len(texts)), key=lambda i: len(tok(texts[i], pairs[i] if pairs else None,
                                                            truncation="longest_first", max_length=max_length)["input_ids"]))
    out = [None] * len(texts)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = tok([texts[i] for i in idx], [pairs[i] for i in idx] if pairs else None, truncation="longest_first",
                      max_length=max_length, padding=True, return_tensors="pt")
            for i, row in zip(idx, model(**enc).logits):
                out[i] = [float(v) for v in row]
    return out


def is_classifier(model_dir):
    cfg_path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(cfg_path):
        return False
    cfg = json.load(open(cfg_path))
    has_weights = any(os.path.isfile(os.path.join(model_dir, f)) for f in ("model.safetensors", "pytorch_model.bin"))
    archs = cfg.get("architectures") or []
    return has_weights and cfg.get("model_type") == "bert" and any(a.endswith("ForSequenceClassification") for a in archs)


def make_golden(shared, name, imdb_per_class):
    import tokenizers
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification, BertTokenizerFast
    model_dir = os.path.join(shared, "models", name)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
    cfg = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))
    tok = BertTokenizerFast(os.path.join(model_dir, "vocab.txt"), do_lower_case=cfg.get("do_lower_case", True))
    sst2 = read_glue_tsv(os.path.join(shared, "data/glue/sst2/dev.tsv"))
    mrpc = read_glue_tsv(os.path.join(shared, "data/glue/mrpc/dev.tsv"))
    imdb = read_imdb(os.path.join(shared, "data/imdb/test.jsonl.gz"), imdb_per_class)
    readme = open(os.path.join(shared, "models/README.md"), encoding="utf-8").read()
    return {
        "model": name,
        "made_by": "tools/make_model_goldens.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "readme_reference": readme_references(readme, name),
        "sst2_dev": {"max_length": 128, "labels": [int(r["label"]) for r in sst2],
                     "logits": logits_of(model, tok, [r["sentence"] for r in sst2], None, 128)},
        "mrpc_dev": {"max_length": 128, "labels": [int(r["Quality"]) for r in mrpc],
                     "logits": logits_of(model, tok, [r["#1 String"] for r in mrpc], [r["#2 String"] for r in mrpc], 128)},
        "imdb_test": {"max_length": 512, "indices": [i for i, _, _ in imdb], "labels": [l for _, _, l in imdb],
                      "logits": logits_of(model, tok, [t for _, t, _ in imdb], None, 512)},
    }


def golden_arguments(description):
    """The flags every golden script shares."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "models"))
    ap.add_argument("--also-look-in", default=None, help="skip models whose golden already exists here (committed fixtures)")
    ap.add_argument("--missing-only", action="store_true", help="only make goldens that do not exist yet")
    ap.add_argument("--list-missing", action="store_true", help="print the models that have no golden and exit")
    return ap


def for_each_classifier(args, suffix, make, what):
    """make(name) for every classifier in shared/models, written to <out>/<name><suffix> (gzipped JSON)."""
    os.makedirs(args.out, exist_ok=True)
    models_dir = os.path.join(args.shared, "models")
    for name in sorted(os.listdir(models_dir)):
        if not is_classifier(os.path.join(models_dir, name)):
            continue
        target = os.path.join(args.out, name + suffix)
        existing = [target] + ([os.path.join(args.also_look_in, name + suffix)] if args.also_look_in else [])
        if (args.missing_only or args.list_missing) and any(os.path.isfile(p) for p in existing):
            continue
        if args.list_missing:
            print(name)
            continue
        print(f"{what} for {name} ...", file=sys.stderr, flush=True)
        golden = make(name)
        tmp = target + ".tmp"
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as f:
            json.dump(golden, f)
        os.replace(tmp, target)


def main():
    ap = golden_arguments(__doc__)
    ap.add_argument("--imdb-per-class", type=int, default=50)
    args = ap.parse_args()
    for_each_classifier(args, ".json.gz", lambda name: make_golden(args.shared, name, args.imdb_per_class), "golden logits")


if __name__ == "__main__":
    main()
