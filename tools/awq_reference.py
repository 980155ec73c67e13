#!/usr/bin/env python3
"""Reference AWQ scale search for squish's src/quant/awq.h (awq_search), written from the paper (Lin et al.,
MLSys 2024, "AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration", section 3.2:
s = s_X^alpha with s_X the mean |x| per input channel, alpha on a grid of 20 in [0, 1), the alpha minimising the
output error of the quantized Linears kept, Eq. 4-5), with the normalisation of the authors' search (scales divided
by sqrt(max * min)) and squish's low-bit group grid (tools/gptq_reference.py's group_params: asymmetric groups,
fp16 scale and minimum, all in fp32). The objective, in float64: sum over the readers of ||X W^T - X W_hat^T||^2
with W_hat = Q(W diag(s)) diag(1/s) in fp32, divided by sum ||X W^T||^2. As in squish: mean |x| at least 1e-8,
scales at least 1e-4 after the normalisation. Also AWQ's clipping search (the authors' auto_clip, squish's
awq_clip_quantize): per row's group, min/max's range or that range clamped to +-r max|w|, r = 1 - i/20 for i in
1..9, the one with the least output error sum_t (x_t . (w - q))^2 over the group's inputs (min/max on ties); and
GPTQ (tools/gptq_reference.py, here at 3 bits) on the same real layer.

Two cases, written to <out> (default tests/fixtures/awq):
  - random: X [192, 128] with per-channel magnitudes spread over two decades and four outlier channels (x25), and
    two readers W_a [64, 128] (int4-g64) and W_b [32, 128] (int3-g32), all values fp16 (x.f16, w_a.f16, w_b.f16,
    little-endian); golden.json["random"]: every alpha's error, the chosen alpha, its scales; golden.json["clip"]:
    per reader, the clipping search's codes, scales and minimums on X (unscaled), and its output error and RTN's.
  - smollm2 (with --smollm2 FILE.gguf): layer 0's q|k|v of SmolLM2-135M-Instruct as transformers reads the GGUF,
    on its input (input_layernorm of the embeddings) for 4 IMDB train reviews without digits, 64 tokens each
    (token ids stored; the model's tokenizer from the GGUF); golden.json["smollm2"]: per format int4-g64 and
    int3-g64 every alpha's error and the choice; GPTQ int3-g64 (damp 0.01, block 128) of the fused [960, 576]
    weight: its layer loss tr((W - Q) H (W - Q)^T) with H = 2/n X^T X and RTN's, and the codes of its first 32 rows.

Usage: python3 tools/awq_reference.py [--out tests/fixtures/awq] [--smollm2 FILE.gguf] [--imdb FILE.jsonl.gz]
(without --smollm2, the smollm2 case already in <out>/golden.json is kept as it is)
Versions used for the committed golden: see golden.json["versions"].
"""
import argparse
import gzip
import json
import os
import platform

import numpy as np
import torch

from gptq_reference import codes_of, dequantize, gptq, group_params, layer_loss, rtn

SEED = 20261207
GRID = 20


def awq_search(x, readers):
    """Errors per alpha, the chosen alpha and its scales. x float32 [rows, k]; readers [(W float32 [n, k], bits,
    group)]."""
    x64 = torch.from_numpy(x.astype(np.float64))
    mean = np.maximum(np.abs(x.astype(np.float64)).mean(axis=0), 1e-8)
    outputs = [x64 @ torch.from_numpy(w.astype(np.float64)).T for w, _, _ in readers]
    norm = sum(float((y * y).sum()) for y in outputs)
    errors, best = [], None
    for g in range(GRID):
        alpha = g / GRID
        s = (mean ** alpha).astype(np.float32)
        middle = np.float32(np.sqrt(float(s.min()) * float(s.max())))
        s = np.maximum(s / middle, np.float32(1e-4))
        error = 0.0
        for (w, bits, group), y in zip(readers, outputs):
            scaled = torch.from_numpy(w * s[None, :])  # fp32, as squish scales
            effective = rtn(scaled, bits, group).numpy() / s[None, :]
            d = x64 @ torch.from_numpy(effective.astype(np.float64)).T - y
            error += float((d * d).sum())
        errors.append(error / norm)
        if best is None or errors[-1] < errors[best[0]]:
            best = (g, s if g > 0 else np.ones_like(s))
    return {"errors": errors, "alpha": best[0] / GRID, "scales": best[1].tolist()}


def awq_clip(w, x, bits, group):
    """The clipping search of W float32 [n, k] on X float32 [rows, k]: codes [n, k], scales and minimums
    [n, k / group], and the output errors sum ||X (W - Q)^T||^2 after the search and of min/max's ranges."""
    n, k = w.shape
    w32 = torch.from_numpy(w)
    x64 = torch.from_numpy(x.astype(np.float64))
    codes = torch.zeros((n, k), dtype=torch.uint8)
    scales = torch.zeros((n, k // group), dtype=torch.float32)
    minimums = torch.zeros((n, k // group), dtype=torch.float32)
    clipped_error, rtn_error = 0.0, 0.0
    for g in range(k // group):
        wg = w32[:, g * group:(g + 1) * group]
        xg = x64[:, g * group:(g + 1) * group]
        gram = xg.T @ xg

        def error(scale, minimum):
            d = wg.double() - dequantize(codes_of(wg, scale[:, None], minimum[:, None], bits), scale[:, None],
                                         minimum[:, None]).double()
            return ((d @ gram) * d).sum(dim=1)

        best_scale, best_minimum = group_params(wg, bits)
        best = error(best_scale, best_minimum)
        rtn_error += float(best.sum())
        lo, hi = wg.min(dim=1).values, wg.max(dim=1).values
        largest = torch.maximum(lo.abs(), hi.abs())
        for step in range(1, 10):
            limit = largest * (torch.tensor(1.0, dtype=torch.float32) - torch.tensor(step, dtype=torch.float32) / 20)
            scale, minimum = group_params(torch.stack([torch.maximum(lo, -limit), torch.minimum(hi, limit)], dim=1),
                                          bits)
            e = error(scale, minimum)
            better = e < best
            best = torch.where(better, e, best)
            best_scale = torch.where(better, scale, best_scale)
            best_minimum = torch.where(better, minimum, best_minimum)
        clipped_error += float(best.sum())
        codes[:, g * group:(g + 1) * group] = codes_of(wg, best_scale[:, None], best_minimum[:, None], bits).to(
            torch.uint8)
        scales[:, g], minimums[:, g] = best_scale, best_minimum
    return {"codes": codes.flatten().tolist(), "scales": scales.flatten().tolist(),
            "minimums": minimums.flatten().tolist(), "error": clipped_error, "rtn_error": rtn_error}


def random_case(out):
    rng = np.random.default_rng(SEED)
    k = 128
    magnitude = np.exp(rng.uniform(np.log(0.05), np.log(5.0), k))
    magnitude[[3, 40, 77, 120]] *= 25
    x = (rng.standard_normal((192, k)) * magnitude).astype(np.float16)
    w_a = (0.05 * rng.standard_normal((64, k))).astype(np.float16)
    w_b = (0.05 * rng.standard_normal((32, k)) * np.exp(0.3 * rng.standard_normal((1, k)))).astype(np.float16)
    for name, a in (("x", x), ("w_a", w_a), ("w_b", w_b)):
        a.astype("<f2").tofile(os.path.join(out, name + ".f16"))
    case = awq_search(x.astype(np.float32), [(w_a.astype(np.float32), 4, 64), (w_b.astype(np.float32), 3, 32)])
    case.update({"rows": 192, "k": k, "readers": [{"file": "w_a.f16", "n": 64, "format": "int4-g64"},
                                                  {"file": "w_b.f16", "n": 32, "format": "int3-g32"}]})
    clip = {"w_a.f16": awq_clip(w_a.astype(np.float32), x.astype(np.float32), 4, 64),
            "w_b.f16": awq_clip(w_b.astype(np.float32), x.astype(np.float32), 3, 32)}
    return case, clip


def review_ids(tokenizer, imdb, count=4, tokens=64):
    """Ids of the first `count` IMDB train reviews without digits (transformers' GGUF tokenizer splits digits
    differently from SmolLM2's own) that run to at least `tokens` tokens, cut there."""
    ids = []
    with (gzip.open if imdb.endswith(".gz") else open)(imdb, "rt") as f:
        for line in f:
            text = json.loads(line)["text"]
            if any(c.isdigit() for c in text):
                continue
            encoded = tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(encoded) >= tokens:
                ids.append(encoded[:tokens])
            if len(ids) == count:
                return ids
    raise SystemExit(f"{imdb}: fewer than {count} reviews without digits of {tokens} tokens")


def smollm2_case(path, imdb):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    folder, name = os.path.dirname(path), os.path.basename(path)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    ids = review_ids(tokenizer, imdb)
    attention = model.model.layers[0].self_attn
    seen = []
    hook = attention.q_proj.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0].detach().clone()))
    with torch.no_grad():
        model(torch.tensor(ids))
    hook.remove()
    x = seen[0].reshape(-1, seen[0].shape[-1]).numpy().astype(np.float32)
    w = torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight]).detach().float()
    case = {"ids": ids, "linear": "model.layers.0.self_attn.qkv_proj", "awq": {}}
    for bits in (4, 3):
        search = awq_search(x, [(w.numpy(), bits, 64)])
        del search["scales"]
        case["awq"][f"int{bits}-g64"] = search
    x64 = torch.from_numpy(x.astype(np.float64))
    hessian = 2.0 / x.shape[0] * (x64.T @ x64)
    codes, scales, minimums = gptq(w, hessian, 3, group=64, damp=0.01, block_size=128)
    q = dequantize(codes, scales.repeat_interleave(64, dim=1), minimums.repeat_interleave(64, dim=1))
    case["gptq_int3_g64"] = {"damp": 0.01, "block_size": 128, "loss": layer_loss(w, q, hessian),
                             "rtn_loss": layer_loss(w, rtn(w, 3, 64), hessian),
                             "codes_first_32_rows": codes[:32].tolist()}
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/fixtures/awq")
    parser.add_argument("--smollm2", help="SmolLM2-135M-Instruct.Q4_1.gguf (tools/fetch_smollm2.sh)")
    parser.add_argument("--imdb", default="../shared/data/imdb/train.jsonl.gz")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    versions = {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__}
    random, clip = random_case(args.out)
    golden = {"grid": GRID, "random": random, "clip": clip}
    for name, c in clip.items():
        print(f"clip {name}: output error {c['error']:.6g} (min/max ranges {c['rtn_error']:.6g})")
    print(f"random: alpha {golden['random']['alpha']}, error {min(golden['random']['errors']):.4g} "
          f"(RTN {golden['random']['errors'][0]:.4g})")
    if args.smollm2:
        import transformers
        versions["transformers"] = transformers.__version__
        golden["smollm2"] = smollm2_case(args.smollm2, args.imdb)
        for fmt, search in golden["smollm2"]["awq"].items():
            print(f"smollm2 {fmt}: alpha {search['alpha']}, error {min(search['errors']):.4g} "
                  f"(RTN {search['errors'][0]:.4g})")
        g = golden["smollm2"]["gptq_int3_g64"]
        print(f"smollm2 GPTQ int3-g64 layer loss {g['loss']:.6g} (RTN {g['rtn_loss']:.6g})")
    elif os.path.exists(os.path.join(args.out, "golden.json")):
        with open(os.path.join(args.out, "golden.json")) as f:
            kept = json.load(f)
        if "smollm2" in kept:
            golden["smollm2"] = kept["smollm2"]
            versions["transformers"] = kept["versions"].get("transformers")
    golden["versions"] = versions
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")


if __name__ == "__main__":
    main()
