#!/usr/bin/env python3
"""Fake-quant reference logits for squish's static W8A8 models, made by PyTorch with squish's own scales.

For each sequence classifier in shared/models:
  1. `squish quantize --mode static --observer minmax --calib_size 100 --seed 42` writes the int8 model
     (squish decides the calibration examples and the scales; this script checks what it computes with them);
  2. the container is read with the `safetensors` package: every quantized Linear's int8 weights and
     scales, and its input grid (scale, zero point, 255 steps);
  3. an HF BertForSequenceClassification gets the weights dequantized (scale * q) and a forward
     pre-hook on each quantized nn.Linear that fake-quantizes its input exactly as squish's kernel
     does: v = x * (1/scale) + zero_point in fp32, clamped to [0, 255], rounded half up
     (floor(v + 0.5)), then x_hat = scale * (q - zero_point);
  4. logits of the first 64 dev examples of the model's task (SST-2 or MRPC at max_length 128, one
     example at a time, no padding) go to <out>/<model>.static.json.gz with the scales used, so the
     test can tell a calibration drift from a kernel error.
The C++ test (tests/eval/test_static_golden.cpp) quantizes the same way in-process and compares.

Usage: python3 tools/make_static_goldens.py --squish build/squish [--shared ../shared] [--out DIR] [--missing-only]
Versions used for the committed goldens: torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3, safetensors 0.8.0.
"""
import json
import os
import subprocess
import sys
import tempfile

from make_model_goldens import for_each_classifier, golden_arguments, read_glue_tsv

EXAMPLES = 64
CALIB_SIZE = 100


def task_of(name, cfg):
    """The task a model was fine-tuned for: its config's finetuning_task, else its name."""
    text = (cfg.get("finetuning_task") or name).lower()
    return "mrpc" if "mrpc" in text else "sst2"  # IMDB models are scored on SST-2 here (short, fast)


def make_golden(squish, shared, name):
    import safetensors
    import tokenizers
    import torch
    import transformers
    from safetensors.numpy import load_file
    from transformers import BertForSequenceClassification, BertTokenizerFast

    model_dir = os.path.join(shared, "models", name)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    task = task_of(name, cfg)
    with tempfile.TemporaryDirectory() as tmp:
        qdir = os.path.join(tmp, "q")
        subprocess.run([squish, "quantize", "--model_dir", model_dir, "--task", task, "--data_dir",
                        os.path.join(shared, "data"), "--mode", "static", "--observer", "minmax", "--calib_size",
                        str(CALIB_SIZE), "--seed", "42", "--output_dir", qdir], check=True, stdout=sys.stderr)
        stored = load_file(os.path.join(qdir, "model.safetensors"))
        plan = json.loads(safetensors.safe_open(os.path.join(qdir, "model.safetensors"), "np").metadata()["squish.plan"])

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
    state = {}
    grids = {}  # HF module name -> (scale, zero point)
    for key, value in stored.items():
        if key.endswith(".weight_scale") or key.endswith(".input_scale") or key.endswith(".input_zero_point"):
            continue
        if value.dtype.name == "int8":
            module = key[: -len(".weight")]
            scale = stored[module + ".weight_scale"].astype("float32")
            state[key] = torch.from_numpy(value.astype("float32") * scale.reshape(-1, 1))
            if module + ".input_scale" in stored:
                grids[module] = (float(stored[module + ".input_scale"][0]), int(stored[module + ".input_zero_point"][0]))
        else:
            state[key] = torch.from_numpy(value.astype("float32"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("position_ids") for k in missing), missing

    def fake_quant(scale, zero):
        inv = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(scale, dtype=torch.float32)

        def hook(_module, args):
            (x,) = args
            v = torch.clamp(x * inv + zero, 0.0, 255.0)
            q = torch.floor(v + 0.5)
            return (torch.tensor(scale, dtype=torch.float32) * (q - zero),)

        return hook

    modules = dict(model.named_modules())
    for module, (scale, zero) in grids.items():
        modules[module].register_forward_pre_hook(fake_quant(scale, zero))

    tok_cfg = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))
    tok = BertTokenizerFast(os.path.join(model_dir, "vocab.txt"), do_lower_case=tok_cfg.get("do_lower_case", True))
    rows = read_glue_tsv(os.path.join(shared, "data/glue", task, "dev.tsv"))[:EXAMPLES]
    logits = []
    with torch.no_grad():
        for r in rows:
            enc = (tok(r["#1 String"], r["#2 String"], truncation="longest_first", max_length=128, return_tensors="pt")
                   if task == "mrpc" else tok(r["sentence"], truncation=True, max_length=128, return_tensors="pt"))
            logits.append([float(v) for v in model(**enc).logits[0]])
    return {
        "model": name,
        "made_by": "tools/make_static_goldens.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__},
        "quantize": {"task": task, "mode": "static", "observer": "minmax", "calib_size": CALIB_SIZE, "seed": 42,
                     "max_length": 128},
        "plan": plan,
        "input_grids": {m: {"scale": s, "zero_point": z} for m, (s, z) in sorted(grids.items())},
        "task": task,
        "examples": EXAMPLES,
        "logits": logits,
    }


def main():
    ap = golden_arguments(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--squish", default=os.path.join(here, "..", "build", "squish"))
    args = ap.parse_args()
    for_each_classifier(args, ".static.json.gz", lambda name: make_golden(args.squish, args.shared, name),
                        "static fake-quant golden")


if __name__ == "__main__":
    main()
