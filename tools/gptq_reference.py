#!/usr/bin/env python3
"""Reference GPTQ for squish's src/quant/gptq.h, written from the paper (Frantar et al. 2022, "GPTQ: Accurate
Post-Training Quantization for Generative Pre-trained Transformers", Algorithm 1), on squish's low-bit group grid
(src/kernels/lowbit_scheme.h): asymmetric groups of consecutive input columns, minimum = min of the group and
scale = (max - min) / (2^bits - 1), both rounded to fp16 (scale at least the smallest fp16, 1 for a constant group),
codes round-to-nearest-even of (w - minimum) / scale clamped to [0, 2^bits - 1], all of that in fp32.

The algorithm, in float64: H = 2/n X^T X; dead inputs (H[i,i] == 0) get H[i,i] = 1 and weight 0; damp * mean(diag H)
is added to the diagonal; U is the upper Cholesky factor of H^-1 (H^-1 = U^T U). Columns are rounded in natural
order; each column's error (w - q) / U[i,i] is spread over the rest of its block at once and over later blocks
lazily, a block at a time. A group's parameters come from its weights as updated by every earlier column (blocks are
whole groups, so no update is pending when a group starts); the authors' code instead reads, for a group starting
inside a block, the weights as of that block's start.

Writes to <out> (default tests/fixtures/gptq):
  - x.i8: X [512, 256] as int8 values of 8 X: correlated rows (6 latent directions of decreasing strength, noise,
    per-column scales) on a 1/8 grid with |8 X| <= 64, and input columns 17 and 200 never active (dead). On that grid
    every partial sum of X^T X is exact in fp32, so squish's fp32-chunk Hessian equals this script's float64 one;
  - w.f32: W [48, 256] float32, little-endian;
  - for bits 4 and 2: codes_<b>bit.u8 [48, 256] and dequantized_<b>bit.f32 [48, 256], and the same with act order
    (codes_<b>bit_act_order.u8, dequantized_<b>bit_act_order.f32);
  - codes_s8.i8 and codes_s8_act_order.i8 [48, 256]: GPTQ onto int8's symmetric rows (src/kernels/int8_scheme.h:
    scale = max|w| / 127 of each row, from the original weights and never changed; codes round-to-nearest-even
    of w / scale in float32, clamped to [-127, 127]), blocks of BLOCK columns;
  - golden.json: the versions used, the options, per bits ("bits", and "bits_act_order") the fp16 scales and
    minimums [48, 4] and the layer-wise losses tr((W - Q) H (W - Q)^T) of GPTQ and of round-to-nearest, and
    under "int8" the row scales and the int8 losses (GPTQ in both orders, round-to-nearest).

Usage: python3 tools/gptq_reference.py [--out tests/fixtures/gptq]
Versions used for the committed golden: python 3.11.7, numpy 2.4.6, torch 2.15.0.
"""
import argparse
import json
import os
import platform

import numpy as np
import torch

SEED = 20261201
ROWS, K, N = 512, 256, 48
LATENT_SCALES = [2.0, 1.5, 1.2, 1.0, 0.7, 0.5]
DEAD_INPUTS = [17, 200]
GRID = 8  # X is stored as int8 values of GRID * X
GROUP, DAMP, BLOCK = 64, 0.01, 128


def make_inputs():
    rng = np.random.default_rng(SEED)
    latent = rng.standard_normal((ROWS, len(LATENT_SCALES))) * np.array(LATENT_SCALES)
    mixing = rng.standard_normal((len(LATENT_SCALES), K)) / np.sqrt(len(LATENT_SCALES))
    x = latent @ mixing + 0.2 * rng.standard_normal((ROWS, K))
    x *= np.exp(0.4 * rng.standard_normal(K))
    x_grid = np.clip(np.rint(GRID * x), -64, 64).astype(np.int8)
    x_grid[:, DEAD_INPUTS] = 0
    w = (0.05 * rng.standard_normal((N, K)) * np.exp(0.3 * rng.standard_normal((N, 1)))).astype(np.float32)
    w[3, 5] = 0.6  # an outlier widens its group's range
    return x_grid, w


def group_params(group, bits):
    """fp16 scale and minimum per row of `group` [rows, size] (float32), as lowbit_scheme.cpp's group_params."""
    lo = group.min(dim=1).values
    hi = group.max(dim=1).values
    minimum = lo.half().float()
    scale = ((hi - lo) / float(2**bits - 1)).half().float()
    scale = torch.clamp(scale, min=torch.finfo(torch.float16).smallest_normal * 2.0**-10)
    scale = torch.where(hi == lo, torch.ones_like(scale), scale)
    return scale, minimum


def fitted_group_params(group, energy, bits, steps=20):
    """Act order's fixed group parameters per row of `group` [rows, size] (float32): min/max's, or the candidate
    range (top end, bottom end or both pulled toward zero by float32(1 - 0.025 step), step 1..20, both-ends first)
    with a strictly smaller rounding error sum_i energy_i (w_i - q(w_i))^2, energy the Hessian's diagonal."""
    def error(scale, minimum):
        q = dequantize(codes_of(group, scale[:, None], minimum[:, None], bits), scale[:, None], minimum[:, None])
        return ((group.double() - q.double()) ** 2 * energy[None, :]).sum(dim=1)

    best_scale, best_minimum = group_params(group, bits)
    best = error(best_scale, best_minimum)
    lo, hi = group.min(dim=1).values, group.max(dim=1).values
    for step in range(1, steps + 1):
        shrink = torch.tensor(1.0, dtype=torch.float32) - torch.tensor(0.025, dtype=torch.float32) * step
        for a, b in ((lo * shrink, hi * shrink), (lo, hi * shrink), (lo * shrink, hi)):
            scale, minimum = group_params(torch.stack([a, b], dim=1), bits)
            e = error(scale, minimum)
            better = e < best
            best = torch.where(better, e, best)
            best_scale = torch.where(better, scale, best_scale)
            best_minimum = torch.where(better, minimum, best_minimum)
    return best_scale, best_minimum


def codes_of(w32, scale, minimum, bits):
    return torch.clamp(torch.round((w32 - minimum) / scale), 0, 2**bits - 1)


def dequantize(codes, scale, minimum):
    return scale * codes.float() + minimum


def rtn(w, bits, group=GROUP):
    w32 = w.float()
    out = torch.empty_like(w32)
    for g in range(0, w32.shape[1], group):
        scale, minimum = group_params(w32[:, g:g + group], bits)
        out[:, g:g + group] = dequantize(codes_of(w32[:, g:g + group], scale[:, None], minimum[:, None], bits),
                                         scale[:, None], minimum[:, None])
    return out


def gptq(w, hessian, bits, group=GROUP, damp=DAMP, block_size=BLOCK, act_order=False):
    """Codes [n, k] and the fp16 scales and minimums [n, k / group] of W [n, k] against the Hessian [k, k].

    act_order: the reference code's --act-order (AutoGPTQ's desc_act with static_groups): columns are rounded by
    decreasing H[i,i] (after the dead inputs' fix, ties in input order), and every group's parameters are fixed
    beforehand from the weights with dead inputs zeroed, since a group's columns are no longer visited together,
    fitted to them by fitted_group_params with the Hessian's own diagonal (0 for a dead input) as energy."""
    n, k = w.shape
    w = w.double().clone()
    h = hessian.clone()
    energy = torch.diag(hessian).clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    codes = torch.zeros((n, k), dtype=torch.uint8)
    scales = torch.zeros((n, k // group), dtype=torch.float32)
    minimums = torch.zeros((n, k // group), dtype=torch.float32)
    order = torch.arange(k)
    if act_order:
        for g in range(k // group):
            scales[:, g], minimums[:, g] = fitted_group_params(w[:, g * group:(g + 1) * group].float(),
                                                               energy[g * group:(g + 1) * group], bits)
        order = torch.argsort(torch.diag(h), descending=True, stable=True)
        w, h = w[:, order], h[order][:, order]
    h += damp * torch.mean(torch.diag(h)) * torch.eye(k, dtype=torch.float64)
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    block = max(1, block_size // group) * group
    for begin in range(0, k, block):
        end = min(begin + block, k)
        errors = torch.zeros((n, end - begin), dtype=torch.float64)
        for c in range(begin, end):
            g = int(order[c]) // group
            if not act_order and c % group == 0:
                scales[:, g], minimums[:, g] = group_params(w[:, c:c + group].float(), bits)
            scale, minimum = scales[:, g], minimums[:, g]
            code = codes_of(w[:, c].float(), scale, minimum, bits)
            codes[:, int(order[c])] = code.to(torch.uint8)
            error = (w[:, c] - dequantize(code, scale, minimum).double()) / u[c, c]
            errors[:, c - begin] = error
            w[:, c + 1:end] -= error[:, None] * u[c, c + 1:end][None, :]
        w[:, end:] -= errors @ u[begin:end, end:]
    return codes, scales, minimums


def s8_row_scales(w):
    """int8's per-channel scales: max|w| / 127 of each row in float32, 1 for an all-zero row."""
    max_abs = w.float().abs().max(dim=1).values
    return torch.where(max_abs > 0, max_abs / 127.0, torch.ones_like(max_abs))


def s8_codes(w32, scale):
    return torch.clamp(torch.round(w32 / scale), -127, 127)


def gptq_s8(w, hessian, scales, damp=DAMP, block_size=BLOCK, act_order=False):
    """Codes [n, k] (int8) of W [n, k] on the given row scales against the Hessian [k, k]: the same column sweep as
    gptq(), each column's codes round-to-nearest of its updated weights over the row's fixed scale."""
    n, k = w.shape
    w = w.double().clone()
    h = hessian.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    codes = torch.zeros((n, k), dtype=torch.int8)
    order = torch.arange(k)
    if act_order:
        order = torch.argsort(torch.diag(h), descending=True, stable=True)
        w, h = w[:, order], h[order][:, order]
    h += damp * torch.mean(torch.diag(h)) * torch.eye(k, dtype=torch.float64)
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    for begin in range(0, k, block_size):
        end = min(begin + block_size, k)
        errors = torch.zeros((n, end - begin), dtype=torch.float64)
        for c in range(begin, end):
            code = s8_codes(w[:, c].float(), scales)
            codes[:, int(order[c])] = code.to(torch.int8)
            error = (w[:, c] - (scales * code).double()) / u[c, c]
            errors[:, c - begin] = error
            w[:, c + 1:end] -= error[:, None] * u[c, c + 1:end][None, :]
        w[:, end:] -= errors @ u[begin:end, end:]
    return codes


def layer_loss(w, q, hessian):
    d = w.double() - q.double()
    return float(torch.trace(d @ hessian @ d.T))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/fixtures/gptq")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    x_grid, w_np = make_inputs()
    x = torch.from_numpy(x_grid.astype(np.float64) / GRID)
    hessian = 2.0 / ROWS * (x.T @ x)
    w = torch.from_numpy(w_np)
    x_grid.tofile(os.path.join(args.out, "x.i8"))
    w_np.astype("<f4").tofile(os.path.join(args.out, "w.f32"))
    golden = {
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__},
        "rows": ROWS, "k": K, "n": N, "x_grid": GRID, "dead_inputs": DEAD_INPUTS,
        "group_size": GROUP, "damp": DAMP, "block_size": BLOCK, "bits": {},
    }
    for act_order in (False, True):
        suffix = "_act_order" if act_order else ""
        golden["bits" + suffix] = {}
        for bits in (4, 2):
            codes, scales, minimums = gptq(w, hessian, bits, act_order=act_order)
            q = dequantize(codes, scales.repeat_interleave(GROUP, dim=1), minimums.repeat_interleave(GROUP, dim=1))
            codes.numpy().tofile(os.path.join(args.out, f"codes_{bits}bit{suffix}.u8"))
            q.numpy().astype("<f4").tofile(os.path.join(args.out, f"dequantized_{bits}bit{suffix}.f32"))
            golden["bits" + suffix][str(bits)] = {
                "scales": scales.tolist(), "minimums": minimums.tolist(),
                "gptq_loss": layer_loss(w, q, hessian), "rtn_loss": layer_loss(w, rtn(w, bits), hessian),
            }
            print(f"{bits}-bit{suffix}: layer loss GPTQ {golden['bits' + suffix][str(bits)]['gptq_loss']:.6g}, "
                  f"RTN {golden['bits' + suffix][str(bits)]['rtn_loss']:.6g}")
    scales = s8_row_scales(w)
    golden["int8"] = {"scales": scales.tolist(),
                      "rtn_loss": layer_loss(w, scales[:, None] * s8_codes(w.float(), scales[:, None]), hessian)}
    for act_order in (False, True):
        suffix = "_act_order" if act_order else ""
        codes = gptq_s8(w, hessian, scales[:, None].squeeze(1), act_order=act_order)
        codes.numpy().tofile(os.path.join(args.out, f"codes_s8{suffix}.i8"))
        golden["int8"]["gptq_loss" + suffix] = layer_loss(w, scales[:, None] * codes.float(), hessian)
    print(f"int8: layer loss GPTQ {golden['int8']['gptq_loss']:.6g} (act order {golden['int8']['gptq_loss_act_order']:.6g}), "
          f"RTN {golden['int8']['rtn_loss']:.6g}")
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
