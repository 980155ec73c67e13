#!/usr/bin/env python3
"""A tiny random BERT classifier and its reference logits, for shape tests that real checkpoints cannot reach.

Writes tests/fixtures/tiny_bert/ and tests/fixtures/tiny_bert_k16/ (below):
  config.json, model.safetensors (F32), model_f16.safetensors, model_bf16.safetensors (same weights
  rounded), golden.json: token batches (batch 1 x length 1, one sequence of max_position_embeddings
  tokens, a heavily padded batch, a pair with token types) and the logits HF transformers gives for
  each sequence run alone (no padding) with fp32 weights, and with the F16/BF16-rounded weights.
tests/fixtures/tiny_bert_k16/: config.json and model.safetensors (F32) of a second random classifier
  whose every Linear input width (32, 64) is a multiple of 16, the smallest group the 2/4-bit kernels
  take (kernels/gemm_lowbit.h); no goldens (its tests compare squish with itself through the container).
Versions used: torch 2.15.0, transformers 5.24.0, safetensors 0.8.0. Seeds 1234 and 4321.
"""
import json
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tiny_bert")

CONFIG = dict(vocab_size=61, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
              max_position_embeddings=20, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
              num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              id2label={0: "a", 1: "b", 2: "c"}, label2id={"a": 0, "b": 1, "c": 2})


def random_classifier(config):
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():  # larger than HF's 0.02 init so every layer visibly matters
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0, 0.3)
            elif "LayerNorm.weight" in name:
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0, 0.1)
    return model


def main():
    torch.manual_seed(1234)
    os.makedirs(OUT, exist_ok=True)
    config = BertConfig(**CONFIG, architectures=["BertForSequenceClassification"])
    model = random_classifier(config)
    config.to_json_file(os.path.join(OUT, "config.json"))
    state = {k: v.contiguous() for k, v in model.state_dict().items() if "position_ids" not in k}
    save_file(state, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    save_file({k: v.half() for k, v in state.items()}, os.path.join(OUT, "model_f16.safetensors"), metadata={"format": "pt"})
    save_file({k: v.bfloat16() for k, v in state.items()}, os.path.join(OUT, "model_bf16.safetensors"), metadata={"format": "pt"})

    g = torch.Generator().manual_seed(99)
    max_pos = CONFIG["max_position_embeddings"]
    sequences = [
        {"name": "one token", "ids": [5], "types": [0]},
        {"name": "max positions", "ids": torch.randint(0, 61, (max_pos,), generator=g).tolist(), "types": [0] * max_pos},
        {"name": "pair", "ids": [2, 7, 8, 3, 9, 10, 11, 3], "types": [0, 0, 0, 0, 1, 1, 1, 1]},
    ]
    for n in (1, 2, 3, 17, 4, 1, 19):  # lengths for a heavily padded batch
        sequences.append({"name": f"len {n}", "ids": torch.randint(0, 61, (n,), generator=g).tolist(), "types": [0] * n})

    def logits_for(m):
        out = []
        with torch.no_grad():
            for s in sequences:
                ids = torch.tensor([s["ids"]])
                out.append(m(input_ids=ids, token_type_ids=torch.tensor([s["types"]]),
                             attention_mask=torch.ones_like(ids)).logits[0].tolist())
        return out

    golden = {"made_by": "tools/make_tiny_fixture.py",
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
              "sequences": sequences, "logits_f32": logits_for(model)}
    for dtype, key in ((torch.float16, "logits_f16"), (torch.bfloat16, "logits_bf16")):
        rounded = BertForSequenceClassification(config).eval()
        rounded.load_state_dict({k: v.to(dtype).float() for k, v in state.items()}, strict=False)
        golden[key] = logits_for(rounded)
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)


def write_group_fixture():
    out = os.path.join(os.path.dirname(OUT), "tiny_bert_k16")
    torch.manual_seed(4321)
    os.makedirs(out, exist_ok=True)
    config = BertConfig(**{**CONFIG, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64},
                        architectures=["BertForSequenceClassification"])
    model = random_classifier(config)
    config.to_json_file(os.path.join(out, "config.json"))
    state = {k: v.contiguous() for k, v in model.state_dict().items() if "position_ids" not in k}
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})


if __name__ == "__main__":
    main()
    write_group_fixture()
