#!/usr/bin/env python3
"""Goldens for squish's OPT decoder (tests/model/test_opt.cpp).

Two tiny random OPTForCausalLM checkpoints made with transformers, saved as HF directories
(config.json + model.safetensors):
  tiny      vocab 300, hidden 32, 4 heads, ffn 64, 2 layers, 64 positions, tied head (as every OPT);
  tiny_odd  vocab 300, hidden 24, 3 heads, ffn 48, 3 layers, 80 positions, untied head.
HF initialises biases to 0 and LayerNorms to 1/0; here every bias and LayerNorm parameter is random
too, so each one is checked. For each model: next-token log-probabilities of four token sequences
(lengths 2, 7, 33, 64; 64 is tiny's last position) in one batch with right padding and the
attention mask (OPT derives its positions from the mask), as log_softmax(logits)[next token] in
float64 from transformers' fp32 logits with eager attention.
Usage: python3 tools/make_opt_goldens.py --out tests/fixtures/opt
"""
import argparse
import gzip
import json
import os
import platform
import sys

import numpy as np
import safetensors
import torch
import transformers
from transformers import OPTConfig, OPTForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_llama_goldens import next_token_logprobs  # noqa: E402  (the same batched reference)


def tiny(out_dir, name, seed, **kw):
    torch.manual_seed(seed)
    config = OPTConfig(vocab_size=300, word_embed_proj_dim=kw["hidden_size"], do_layer_norm_before=True,
                       activation_function="relu", dropout=0.0, attention_dropout=0.0,
                       attn_implementation="eager", **kw)
    model = OPTForCausalLM(config).eval()
    with torch.no_grad():  # HF's init leaves biases 0 and LayerNorms 1/0: random ones exercise them
        for n, p in model.named_parameters():
            if "layer_norm" in n and n.endswith(".weight"):
                p.uniform_(0.5, 1.5)
            elif n.endswith(".bias"):
                p.uniform_(-0.2, 0.2)
    d = os.path.join(out_dir, name)
    model.save_pretrained(d, safe_serialization=True)
    os.remove(os.path.join(d, "generation_config.json"))  # the fixture is config.json + model.safetensors
    os.chmod(os.path.join(d, "model.safetensors"), 0o644)
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(0, 300, n).tolist() for n in (2, 7, 33, 64)]
    return {"model": name, "parameters": model.num_parameters(), "sequences": sequences,
            "logprobs": next_token_logprobs(model, sequences)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "safetensors": safetensors.__version__,
                "numpy": np.__version__}
    cases = [tiny(a.out, "tiny", 1, hidden_size=32, num_attention_heads=4, ffn_dim=64, num_hidden_layers=2,
                  max_position_embeddings=64, tie_word_embeddings=True),
             tiny(a.out, "tiny_odd", 2, hidden_size=24, num_attention_heads=3, ffn_dim=48, num_hidden_layers=3,
                  max_position_embeddings=80, tie_word_embeddings=False)]
    with gzip.open(os.path.join(a.out, "tiny_logprobs.json.gz"), "wt") as f:
        json.dump({"versions": versions, "cases": cases}, f)


if __name__ == "__main__":
    main()
