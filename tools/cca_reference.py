#!/usr/bin/env python3
"""Reference representation similarities (SVCCA, PWCCA, linear CKA) for src/analysis/similarity.h.

A numpy implementation of the published algorithms, written from the papers and from reading google/svcca
(cca_core.py, pwcca.py, tutorials/001_Introduction.ipynb); no code taken from there:
  - CCA as cca_core.get_cca_similarity computes it: np.cov of both sides, each side's covariances divided by
    the largest |entry| of its own covariance (the cross-covariance by the geometric mean of both), features whose
    scaled variance is below EPSILON dropped, EPSILON added to the diagonals, Sxx^-1/2 Sxy Syy^-1/2 decomposed by
    SVD: its singular values are the canonical correlations, descending;
  - SVCCA (Raghu et al. 2017): centre each side, project it on its top-k right singular vectors (an SVD of the
    centred sample matrix itself, as the tutorial does), CCA of the projections; similarity = mean correlation;
  - PWCCA (Morcos et al. 2018, eq. for rho_PW): CCA, the canonical variates of X (samples x k, k = number of
    correlations) orthonormalised by QR, weights alpha_i = sum_j |<q_i, x_j>| over X's centred features, normalised
    to sum 1; similarity = sum_i alpha_i rho_i. The paper's canonical variates are the whitened directions
    Xc Sxx^-1/2 u_i; pwcca.py instead orthonormalises u_i^T applied to the unwhitened data plus the means, which
    differs from the paper's formula, so the paper is followed here;
  - linear CKA (Kornblith et al. 2019): HSIC form <K, L>_F / (|K|_F |L|_F) with K, L the Gram matrices of the
    centred samples (samples x samples), a different route from squish's feature-space covariances.
Summary means use every correlation (not cca_core's 0.98 sum_threshold cut of trailing ones).

Writes to <out> (default tests/fixtures/analysis):
  - <case>_x.f16.gz, <case>_y.f16.gz: the matrices, row-major [rows, cols] IEEE half, little-endian, gzip. The
    references are computed on exactly these (half-rounded) values, widened to float64;
  - goldens.json: the versions used, EPSILON, and per case the shapes, files, canonical correlations, SVCCA at each
    listed topk, PWCCA with its weights and linear CKA.
Cases: random matrices (correlated with different widths, both orders; independent; a constant and a duplicated
feature) and real activations: hidden states 3 and 4 (the outputs of encoder layers 2 and 3) of
shared/models/minilm-l6-sst2 on the first 30 SST-2 dev sentences, one row per token ([CLS] and [SEP] included,
no padding: each sentence runs alone), BertModel with output_hidden_states, fp32.

Usage: python3 tools/cca_reference.py [--shared ../shared] [--out tests/fixtures/analysis]
Versions used for the committed goldens: numpy 2.4.6, torch 2.15.0, transformers 5.24.0.
"""
import argparse
import csv
import gzip
import json
import os

import numpy as np

EPSILON = 1e-10  # the value google/svcca's tutorial passes as epsilon
SEED = 20261201
REAL_SENTENCES = 30
REAL_LAYERS = (3, 4)  # indexes into hidden_states: 0 is the embeddings


def canonical_correlations(x, y):
    """CCA of row-sample matrices: (correlations, X's directions over its kept features, kept masks)."""
    dx = x.shape[1]
    cov = np.cov(x.T, y.T)
    sxx, sxy, syy = cov[:dx, :dx], cov[:dx, dx:], cov[dx:, dx:]
    xmax, ymax = np.max(np.abs(sxx)), np.max(np.abs(syy))
    if xmax == 0 or ymax == 0:
        return np.zeros(0), None, np.zeros(dx, bool), np.zeros(y.shape[1], bool)
    sxx, syy, sxy = sxx / xmax, syy / ymax, sxy / np.sqrt(xmax * ymax)
    keep_x, keep_y = np.diag(sxx) >= EPSILON, np.diag(syy) >= EPSILON
    sxx = sxx[keep_x][:, keep_x] + EPSILON * np.eye(keep_x.sum())
    syy = syy[keep_y][:, keep_y] + EPSILON * np.eye(keep_y.sum())
    sxy = sxy[keep_x][:, keep_y]
    invsqrt_xx, invsqrt_yy = inverse_sqrt(sxx), inverse_sqrt(syy)
    u, s, _ = np.linalg.svd(invsqrt_xx @ sxy @ invsqrt_yy)
    k = min(keep_x.sum(), keep_y.sum())
    return s[:k], invsqrt_xx @ u[:, :k], keep_x, keep_y


def inverse_sqrt(spd):
    w, v = np.linalg.eigh(spd)
    return (v / np.sqrt(w)) @ v.T


def svcca(x, y, topk):
    def top_directions(a):
        centred = a - a.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return centred @ vt[:topk].T

    rho = canonical_correlations(top_directions(x), top_directions(y))[0]
    return float(rho.mean()) if rho.size else 0.0


def pwcca(x, y):
    rho, directions, keep_x, _ = canonical_correlations(x, y)
    if rho.size == 0:
        return 0.0, []
    centred = (x - x.mean(axis=0))[:, keep_x]
    q, _ = np.linalg.qr(centred @ directions)
    weights = np.abs(q.T @ centred).sum(axis=1)
    weights /= weights.sum()
    return float(weights @ rho), weights.tolist()


def linear_cka(x, y):
    k = (x - x.mean(axis=0)) @ (x - x.mean(axis=0)).T
    l = (y - y.mean(axis=0)) @ (y - y.mean(axis=0)).T
    return float(np.sum(k * l) / (np.linalg.norm(k) * np.linalg.norm(l)))


def random_cases(rng):
    def gaussian(rows, cols):
        return rng.standard_normal((rows, cols))

    cases = {}
    x = gaussian(600, 24)
    y = x @ gaussian(24, 16) * 0.3 + gaussian(600, 16)
    cases["correlated_wide_x"] = (x, y, [4, 8, 16])
    cases["correlated_narrow_x"] = (y, x, [4, 8, 16])
    latent = gaussian(800, 6)
    cases["shared_latent"] = (latent @ gaussian(6, 32) + 0.5 * gaussian(800, 32),
                              latent @ gaussian(6, 20) + 0.5 * gaussian(800, 20), [6, 12, 20])
    cases["independent"] = (gaussian(1000, 12), gaussian(1000, 10), [5, 10])
    # A constant feature on each side and a duplicated one in X: the constant ones are dropped, the
    # duplicate leaves X's covariance singular (the EPSILON on the diagonal keeps it invertible). X is the
    # wider side so the singular direction, whose correlation is ~0, is not among the k that PWCCA weights.
    x = gaussian(300, 10)
    x[:, 3] = 0.75
    x[:, 7] = x[:, 1]
    y = x[:, :6] @ gaussian(6, 6) + gaussian(300, 6)
    y[:, 2] = -1.5
    cases["degenerate_features"] = (x, y, [3, 5])
    return cases


def real_case(shared):
    import torch
    from transformers import AutoTokenizer, BertModel

    model_dir = os.path.join(shared, "models", "minilm-l6-sst2")
    with open(os.path.join(shared, "data", "glue", "sst2", "dev.tsv"), encoding="utf-8", newline="") as f:
        sentences = [r["sentence"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    states = {layer: [] for layer in REAL_LAYERS}
    with torch.no_grad():
        for sentence in sentences[:REAL_SENTENCES]:
            inputs = tokenizer(sentence, return_tensors="pt", truncation=True, max_length=128)
            hidden = model(**inputs, output_hidden_states=True).hidden_states
            for layer in REAL_LAYERS:
                states[layer].append(hidden[layer][0].numpy())
    x, y = (np.concatenate(states[layer]) for layer in REAL_LAYERS)
    return x, y, [16, 64, 256]


def write_f16(path, matrix):
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(matrix.astype("<f2").tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "analysis"))
    args = parser.parse_args()
    import torch
    import transformers

    cases = random_cases(np.random.default_rng(SEED))
    cases["minilm_sst2_layers_3_4"] = real_case(args.shared)
    os.makedirs(args.out, exist_ok=True)
    goldens = {"versions": {"numpy": np.__version__, "torch": torch.__version__.split("+")[0],
                            "transformers": transformers.__version__},
               "epsilon": EPSILON, "cases": {}}
    for name, (x, y, topks) in cases.items():
        files = {}
        for side, matrix in (("x", x), ("y", y)):
            files[side] = f"{name}_{side}.f16.gz"
            write_f16(os.path.join(args.out, files[side]), matrix)
        # The references see what the C++ test reads: the half-rounded values.
        x, y = (m.astype(np.float16).astype(np.float64) for m in (x, y))
        rho = canonical_correlations(x, y)[0]
        pw, weights = pwcca(x, y)
        goldens["cases"][name] = {
            "rows": x.shape[0], "x_cols": x.shape[1], "y_cols": y.shape[1], "x_file": files["x"], "y_file": files["y"],
            "correlations": rho.tolist(), "svcca": {str(k): svcca(x, y, k) for k in topks},
            "pwcca": pw, "pwcca_weights": weights, "linear_cka": linear_cka(x, y)}
        print(f"{name}: {x.shape} {y.shape} cca {rho.mean():.4f} pwcca {pw:.4f} cka {linear_cka(x, y):.4f}")
    with open(os.path.join(args.out, "goldens.json"), "w") as f:
        json.dump(goldens, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
