#!/usr/bin/env python3
"""Goldens for squish's Llama-family decoder (tests/model/test_llama.cpp).

1. Two tiny random LlamaForCausalLM checkpoints made with transformers (untied with 4 heads over 2 KV
   heads; tied with 6 heads over 2 KV heads), saved as HF directories (config.json + model.safetensors),
   and the same weights as a GGUF file written with the `gguf` package in llama.cpp's layout (Q and K
   rows permuted for interleaved rotary embeddings, names blk.N.*), so the test loads both and checks
   each against transformers' next-token log-probabilities.
2. SmolLM2-135M-Instruct dequantized by transformers from its GGUF (--smollm2 PATH): next-token
   log-probabilities of a few token sequences.

Every log-probability is log_softmax(logits)[next token] in float64 from transformers' fp32 logits
(eager attention, right padding with the attention mask for the batched rows).
Usage: python3 tools/make_llama_goldens.py --out tests/fixtures/llama [--smollm2 FILE.gguf]
"""
import argparse
import gzip
import json
import os
import platform

import numpy as np
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

import gguf


def permute(w, heads):
    # llama.cpp's convert_hf_to_gguf: rows of each head [2, HD/2] -> [HD/2, 2]
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(model, config, path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(config.num_hidden_layers)
    w.add_context_length(config.max_position_embeddings)
    w.add_embedding_length(config.hidden_size)
    w.add_feed_forward_length(config.intermediate_size)
    w.add_head_count(config.num_attention_heads)
    w.add_head_count_kv(config.num_key_value_heads)
    w.add_rope_freq_base(config.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    w.add_vocab_size(config.vocab_size)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
                 "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
                 "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down"}
    for name, value in sd.items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        if name in names:
            out = names[name]
        else:
            layer = int(name.split(".")[2])
            module = ".".join(name.split(".")[3:-1])
            out = f"blk.{layer}.{per_layer[module]}.weight"
            if module == "self_attn.q_proj":
                value = permute(value, config.num_attention_heads)
            if module == "self_attn.k_proj":
                value = permute(value, config.num_key_value_heads)
        w.add_tensor(out, np.ascontiguousarray(value, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def next_token_logprobs(model, sequences):
    """[sequence][position] log p(ids[position + 1] | ids[..position]), batched with right padding."""
    longest = max(len(s) for s in sequences)
    ids = torch.zeros((len(sequences), longest), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(sequences):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits.double()
    logp = torch.log_softmax(logits, dim=-1)
    return [[logp[i, t, s[t + 1]].item() for t in range(len(s) - 1)] for i, s in enumerate(sequences)]


def tiny(out_dir, name, seed, **kw):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=300, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                         attn_implementation="eager", **kw)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # HF initialises norms to 1: random norms exercise their weights
        for n, p in model.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    d = os.path.join(out_dir, name)
    model.save_pretrained(d, safe_serialization=True)
    write_gguf(model, config, os.path.join(out_dir, name + ".gguf"))
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(0, 300, n).tolist() for n in (2, 7, 33, 64)]
    return {"model": name, "sequences": sequences, "logprobs": next_token_logprobs(model, sequences)}


def smollm2(path):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 torch_dtype=torch.float32, attn_implementation="eager").eval()
    rng = np.random.default_rng(7)
    # Ids of ordinary English text (a tokenizer-free golden: the tokenizer has its own).
    text = [504, 2365, 5413, 18040, 1485, 260, 23790, 3551, 30, 378, 3265, 314, 253, 1345, 1670, 30]
    sequences = [text, rng.integers(0, 49152, 40).tolist(), text[:5]]
    return {"model": "SmolLM2-135M-Instruct", "sequences": sequences, "logprobs": next_token_logprobs(model, sequences)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--smollm2")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "numpy": np.__version__,
                "gguf": getattr(gguf, "__version__", "0.18.0")}
    cases = [tiny(a.out, "tiny_untied", 1, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False),
             tiny(a.out, "tiny_tied", 2, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=6, num_key_value_heads=2, tie_word_embeddings=True)]
    with gzip.open(os.path.join(a.out, "tiny_logprobs.json.gz"), "wt") as f:
        json.dump({"versions": versions, "cases": cases}, f)
    if a.smollm2:
        with gzip.open(os.path.join(a.out, "smollm2_logprobs.json.gz"), "wt") as f:
            json.dump({"versions": versions, "cases": [smollm2(a.smollm2)]}, f)


if __name__ == "__main__":
    main()
