#!/usr/bin/env python3
"""Goldens for squish's SmoothQuant (tests/quant/test_smoothquant.cpp), written from the paper's
formula (Xiao et al. 2023, and its reference code's smooth_ln_fcs) with transformers' own modules:

  act_j  = max |x_j| over the valid tokens of the input of the Linears a norm feeds,
  w_j    = max |W[:, j]| over the rows of every Linear the norm feeds (q|k|v, gate|up, fc1),
  s_j    = clamp(act_j^alpha / w_j^(1 - alpha), min=1e-5), 1 where act_j or w_j is 0 (see below)

at every site squish smooths: the inputs of the Linears after each norm (the paper's), and the
feed-forward's second Linear, whose input channels up_proj's rows (SwiGLU) or fc1's rows and bias
(ReLU) scale; the producer's channel j is divided by s_j and the readers' column j multiplied by it.

for the tiny random Llama (untied, tests/fixtures/llama/tiny_untied) and OPT (tests/fixtures/opt/tiny)
checkpoints on three right-padded token sequences, at alpha 0.5 and 0.8; and the log-probabilities of
the smoothed model (norm / s, columns * s) as transformers computes them, which must equal the
unsmoothed ones up to fp32 rounding.
Usage: python3 tools/make_smoothquant_goldens.py --fixtures tests/fixtures --out tests/fixtures/smoothquant
"""
import argparse
import gzip
import json
import os
import platform

import torch
import transformers
from transformers import AutoModelForCausalLM

SEQUENCES = [[1, 5, 9, 13, 17, 21, 2], [1, 6, 10, 2], [3, 7, 11, 40, 41, 42, 43, 44, 45, 99]]


def batch():
    t = max(len(s) for s in SEQUENCES)
    ids = torch.zeros(len(SEQUENCES), t, dtype=torch.long)
    mask = torch.zeros(len(SEQUENCES), t, dtype=torch.long)
    for i, s in enumerate(SEQUENCES):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def sites(model, arch):
    """(site name, norm module or None, (producer Linear, None) or None, [Linears reading]) in forward order."""
    out = []
    if arch == "llama":
        for i, layer in enumerate(model.model.layers):
            a, m = layer.self_attn, layer.mlp
            p = f"model.layers.{i}"
            out.append((f"{p}.input_layernorm", layer.input_layernorm, None, [a.q_proj, a.k_proj, a.v_proj]))
            out.append((f"{p}.post_attention_layernorm", layer.post_attention_layernorm, None, [m.gate_proj, m.up_proj]))
            out.append((f"{p}.mlp.up_proj", None, m.up_proj, [m.down_proj]))
    else:
        for i, layer in enumerate(model.model.decoder.layers):
            a = layer.self_attn
            p = f"model.decoder.layers.{i}"
            out.append((f"{p}.self_attn_layer_norm", layer.self_attn_layer_norm, None, [a.q_proj, a.k_proj, a.v_proj]))
            out.append((f"{p}.final_layer_norm", layer.final_layer_norm, None, [layer.fc1]))
            out.append((f"{p}.fc1", None, layer.fc1, [layer.fc2]))
    return out


def logprobs(model, ids, mask):
    with torch.no_grad():
        lp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.double(), dim=-1)
    return [[lp[i, t, s[t + 1]].item() for t in range(len(s) - 1)] for i, s in enumerate(SEQUENCES)]


def case(path, arch, alpha):
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager").eval()
    ids, mask = batch()
    before = logprobs(model, ids, mask)
    act = {}
    hooks = []
    valid = mask.reshape(-1).bool()
    for name, _, _, linears in sites(model, arch):
        def hook(_, inputs, name=name):
            x = inputs[0].reshape(-1, inputs[0].shape[-1])[valid].abs().amax(dim=0)
            act[name] = x if name not in act else torch.maximum(act[name], x)
        hooks.append(linears[0].register_forward_pre_hook(hook))
    logprobs(model, ids, mask)
    for h in hooks:
        h.remove()
    scales = {}
    with torch.no_grad():
        for name, norm, producer, linears in sites(model, arch):
            w = torch.cat([l.weight for l in linears], dim=0).abs().amax(dim=0)
            s = (act[name].pow(alpha) / w.pow(1 - alpha)).clamp(min=1e-5)
            # squish's one departure from the reference code: a channel that never fired on the
            # calibration tokens (a dead ReLU unit), or whose weights are all zero, keeps s = 1
            # instead of the clamp's 1e-5, which would multiply its producer by 1e5 for nothing.
            s = torch.where((act[name] > 0) & (w > 0), s, torch.ones_like(s))
            scales[name] = s.tolist()
            scaled = norm if norm is not None else producer
            scaled.weight.div_(s.view(-1, 1) if producer is not None else s)
            if getattr(scaled, "bias", None) is not None:
                scaled.bias.div_(s)
            for l in linears:
                l.weight.mul_(s.view(1, -1))
    after = logprobs(model, ids, mask)
    return {"model": os.path.relpath(path, args.fixtures), "alpha": alpha, "scales": scales,
            "logprobs_before": before, "logprobs_after": after}


parser = argparse.ArgumentParser()
parser.add_argument("--fixtures", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
cases = [case(os.path.join(args.fixtures, m), arch, alpha)
         for m, arch in [("llama/tiny_untied", "llama"), ("opt/tiny", "opt")] for alpha in (0.5, 0.8)]
golden = {"sequences": SEQUENCES, "cases": cases,
          "versions": {"python": platform.python_version(), "torch": torch.__version__,
                       "transformers": transformers.__version__}}
with gzip.open(os.path.join(args.out, "smoothquant.json.gz"), "wt") as f:
    json.dump(golden, f)
print("wrote", len(cases), "cases")
