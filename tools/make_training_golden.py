#!/usr/bin/env python3
"""Reference gradients and optimizer steps of a tiny BERT classifier, for squish's training code.

Writes
  tests/fixtures/tiny_bert_train/: config.json and model.safetensors (F32) of a random
    BertForSequenceClassification (2 layers, hidden 32, 4 heads, FFN 64, vocab 64, 24 positions,
    2 token types, 2 labels, erf GELU, LayerNorm eps 1e-12, config dropouts 0.1). Weights: torch seed
    2024, every tensor N(0, 0.2) except the LayerNorm scales, 1 + N(0, 0.2); 0.2 rather than HF's 0.02
    so that gradients are far from zero in every layer.
  tests/fixtures/training_golden/:
    batches.json       3 batches of B=3, T=10 (ids in [1, 64), right-padded with 0 past each length;
                       batch 0 has token type 1 on a second segment of two sequences)
    grads.safetensors  d loss / d parameter for every parameter (state_dict names) on batch 0 at the
                       initial weights, and that batch's "logits" [3, 2] and "loss" [1]
    after3.safetensors every parameter after 3 optimizer steps, batch i at step i
    steps.json         per step: loss, lr, grad_norm (before clipping); versions; the settings below;
                       and the float32 results' distance to the same computation in float64
The golden runs with every dropout probability set to 0 (train mode, nothing random) and
attn_implementation="eager". One step is HF Trainer's, written out here rather than run through Trainer:
  zero_grad; loss = mean cross-entropy of the logits; backward;
  grad_norm = clip_grad_norm_(params, 1.0) (the norm before clipping); AdamW step; scheduler step
with torch.optim.AdamW(lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01) over two parameter
groups (no decay on biases and LayerNorm parameters, as Trainer's get_decay_parameter_names) and
get_linear_schedule_with_warmup(num_warmup_steps=2, num_training_steps=10), so step 0 runs at lr 0
(its gradients still enter Adam's moments), step 1 at 5e-4, step 2 at 1e-3.

Usage: python3 tools/make_training_golden.py
Versions used for the committed golden: python 3.11.7, torch 2.15.0, transformers 5.24.0, safetensors 0.8.0.
"""
import json
import os
import platform

import safetensors
import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")
MODEL_OUT = os.path.join(FIXTURES, "tiny_bert_train")
GOLDEN_OUT = os.path.join(FIXTURES, "training_golden")

WEIGHT_SEED, BATCH_SEED = 2024, 7
WEIGHT_STD = 0.2
CONFIG = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=24, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
              num_labels=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
BATCH, SEQ = 3, 10
LENGTHS = ([10, 7, 4], [9, 10, 5], [6, 3, 10])
LABELS = ([0, 1, 1], [1, 0, 0], [1, 1, 0])
# Batch 0 only (so the gradient golden covers token type 1): its first two sequences are pairs whose
# second segment, token type 1, runs from this position to the length.
SECOND_SEGMENT_FROM = 6
OPTIMIZER = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
MAX_GRAD_NORM = 1.0
WARMUP_STEPS, TRAINING_STEPS = 2, 10


def initial_state():
    config = BertConfig(**CONFIG, architectures=["BertForSequenceClassification"])
    torch.manual_seed(WEIGHT_SEED)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(0, WEIGHT_STD)
            if "LayerNorm.weight" in name:
                p.add_(1.0)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if "position_ids" not in k}
    return config, state


def golden_model(config, state, dtype):
    """The model the golden runs: the fixture's weights with every dropout probability 0."""
    run_config = BertConfig(**{**config.to_dict(), "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                               "classifier_dropout": 0.0})
    run_config._attn_implementation = "eager"
    model = BertForSequenceClassification(run_config).to(dtype)
    missing, unexpected = model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=False)
    if unexpected or any("position_ids" not in k for k in missing):
        raise RuntimeError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    return model.train()


def make_batches():
    g = torch.Generator().manual_seed(BATCH_SEED)
    batches = []
    for index, (lengths, labels) in enumerate(zip(LENGTHS, LABELS)):
        ids = torch.zeros(BATCH, SEQ, dtype=torch.long)
        types = torch.zeros(BATCH, SEQ, dtype=torch.long)
        for b, n in enumerate(lengths):
            ids[b, :n] = torch.randint(1, CONFIG["vocab_size"], (n,), generator=g)
            if index == 0 and b < 2:
                types[b, SECOND_SEGMENT_FROM:n] = 1
        batches.append({"input_ids": ids.tolist(), "token_type_ids": types.tolist(), "lengths": lengths,
                        "labels": labels})
    return batches


def loss_and_logits(model, batch):
    ids = torch.tensor(batch["input_ids"])
    mask = (torch.arange(SEQ)[None, :] < torch.tensor(batch["lengths"])[:, None]).long()
    logits = model(input_ids=ids, token_type_ids=torch.tensor(batch["token_type_ids"]), attention_mask=mask).logits
    return F.cross_entropy(logits, torch.tensor(batch["labels"])), logits


def no_decay_names(model):
    """Trainer's rule: biases and the parameters of LayerNorm modules are not weight-decayed."""
    layer_norm_params = {f"{m}.{p}" if m else p for m, module in model.named_modules()
                         if isinstance(module, torch.nn.LayerNorm) for p, _ in module.named_parameters(recurse=False)}
    return sorted(n for n, _ in model.named_parameters() if n in layer_norm_params or n.endswith("bias"))


def batch0_gradients(config, state, batch, dtype):
    model = golden_model(config, state, dtype)
    loss, logits = loss_and_logits(model, batch)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return grads, loss.detach(), logits.detach()


def train_three_steps(config, state, batches, dtype):
    model = golden_model(config, state, dtype)
    skip_decay = set(no_decay_names(model))
    groups = [{"params": [p for n, p in model.named_parameters() if n not in skip_decay],
               "weight_decay": OPTIMIZER["weight_decay"]},
              {"params": [p for n, p in model.named_parameters() if n in skip_decay], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=OPTIMIZER["lr"], betas=OPTIMIZER["betas"], eps=OPTIMIZER["eps"])
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=WARMUP_STEPS,
                                                num_training_steps=TRAINING_STEPS)
    steps = []
    for batch in batches:
        optimizer.zero_grad()
        loss, _ = loss_and_logits(model, batch)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        steps.append({"loss": float(loss.detach()), "lr": float(lr), "grad_norm": float(grad_norm)})
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    return params, steps


def rounding_noise_names(names):
    """Attention key biases: adding a constant to every key shifts all of a query's scores equally, which
    softmax ignores, so their exact gradient is 0 and what backward gives is rounding noise (~1e-8 here).
    Adam divides by that noise's own root mean square and turns it into updates of up to ~lr, so their
    after3 values are noise too: they differ between float32 and float64 by ~1e-4, as they will in squish."""
    return sorted(n for n in names if n.endswith("attention.self.key.bias"))


def max_abs_difference(a, b, names):
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in names)


def max_relative_difference(a, b, names):
    """Per tensor max|a - b| / max|b|, the largest over tensors: how far float32 is from float64."""
    return max(float((a[k].double() - b[k].double()).abs().max() / b[k].double().abs().max()) for k in names)


def main():
    config, state = initial_state()
    os.makedirs(MODEL_OUT, exist_ok=True)
    os.makedirs(GOLDEN_OUT, exist_ok=True)
    config.to_json_file(os.path.join(MODEL_OUT, "config.json"))
    save_file(state, os.path.join(MODEL_OUT, "model.safetensors"), metadata={"format": "pt"})

    batches = make_batches()
    grads, loss, logits = batch0_gradients(config, state, batches[0], torch.float32)
    after3, steps = train_three_steps(config, state, batches, torch.float32)
    grads64, loss64, logits64 = batch0_gradients(config, state, batches[0], torch.float64)
    after3_64, steps64 = train_three_steps(config, state, batches, torch.float64)

    save_file({**grads, "logits": logits.contiguous(), "loss": loss.reshape(1)},
              os.path.join(GOLDEN_OUT, "grads.safetensors"), metadata={"format": "pt"})
    save_file(after3, os.path.join(GOLDEN_OUT, "after3.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(GOLDEN_OUT, "batches.json"), "w") as f:
        json.dump({"batches": batches}, f, indent=1)

    model = golden_model(config, state, torch.float32)
    noise = rounding_noise_names(grads)
    signal = [n for n in grads if n not in noise]
    golden = {
        "made_by": "tools/make_training_golden.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "safetensors": safetensors.__version__},
        "model": "tests/fixtures/tiny_bert_train",
        "weights": {"seed": WEIGHT_SEED, "std": WEIGHT_STD, "layer_norm_weight": "1 + N(0, std)"},
        "run": {"dropout": 0.0, "attn_implementation": "eager", "mode": "train (dropout probabilities 0)",
                "loss": "mean cross-entropy over the batch", "batch_per_step": "batch i at step i"},
        "optimizer": {"name": "torch.optim.AdamW", **OPTIMIZER, "amsgrad": False,
                      "no_weight_decay": no_decay_names(model)},
        "gradient_clipping": {"function": "torch.nn.utils.clip_grad_norm_", "max_norm": MAX_GRAD_NORM,
                              "norm_type": 2.0, "grad_norm": "total norm before clipping"},
        "scheduler": {"name": "transformers.get_linear_schedule_with_warmup", "num_warmup_steps": WARMUP_STEPS,
                      "num_training_steps": TRAINING_STEPS, "stepped": "after every optimizer step",
                      "lr": "the rate the step used"},
        "steps": steps,
        "rounding_noise_tensors": {
            "names": noise,
            "why": "exact gradient 0 (softmax ignores a shift shared by all keys): grads are rounding noise "
                   "and Adam turns it into updates of up to ~lr, so after3 is noise too; compare the grads "
                   "with an absolute bound and after3 only as |after3 - initial| <= the sum of the lrs",
            "grads_max_abs": max_abs_difference(grads, {k: torch.zeros_like(v) for k, v in grads.items()}, noise),
            "after3_float32_vs_float64_max_abs": max_abs_difference(after3, after3_64, noise),
            "after3_max_abs_change_from_initial": max_abs_difference(after3, state, noise),
        },
        # How far these float32 results are from the same computation in float64 (rounding-noise tensors
        # left out): the floor a comparison with them cannot go below.
        "float32_vs_float64": {
            "logits_max_abs": float((logits.double() - logits64).abs().max()),
            "loss_abs": abs(float(loss) - float(loss64)),
            "grads_max_abs": max_abs_difference(grads, grads64, signal),
            "grads_max_relative_per_tensor": max_relative_difference(grads, grads64, signal),
            "after3_max_abs": max_abs_difference(after3, after3_64, signal),
            "after3_max_relative_per_tensor": max_relative_difference(after3, after3_64, signal),
            "after3_max_abs_change_from_initial": max_abs_difference(after3, state, signal),
            "steps_float64": steps64,
        },
    }
    with open(os.path.join(GOLDEN_OUT, "steps.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
