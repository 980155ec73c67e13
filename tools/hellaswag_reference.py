#!/usr/bin/env python3
"""Reference scores for squish's HellaSwag and perplexity (tests/eval/test_causal_lm_tasks.cpp).

HellaSwag as EleutherAI's lm-evaluation-harness 0.4 scores it, written from the harness's code
(lm_eval/tasks/hellaswag/utils.py preprocess + _process_doc; HFLM._encode_pair and
_loglikelihood_tokens), with transformers on SmolLM2-135M-Instruct dequantized from its GGUF and the
SmolLM2 tokenizer as the GGUF defines it (digits split before the byte-level BPE; transformers 5.24's
GGUF reader drops that split, so the tokenizer is rebuilt with HF `tokenizers` as in
tools/make_bpe_goldens.py). One sequence per ending, no context sharing, fp32, eager attention.
Items: the first 24 of the lm-eval file and the first 8 of the original-format file in
../shared/data/hellaswag, written beside the goldens as the test's --data_file inputs.

Perplexity by HF's sliding-window guide with every token after the first scored once: 3 IMDB test
reviews, max_length 64, stride 32.

Usage: python3 tools/hellaswag_reference.py --shared ../shared --gguf FILE.gguf --out tests/fixtures/causal_lm
"""
import argparse
import gzip
import json
import os
import platform
import re
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_bpe_goldens import gguf_tokenizer_metadata, smollm2_reference  # noqa: E402


def preprocess(text):  # lm_eval/tasks/hellaswag/utils.py
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def process_doc(doc):
    if "query" in doc:
        return doc
    ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
    return {"query": preprocess(doc["activity_label"] + ": " + ctx),
            "choices": [preprocess(e) for e in doc["endings"]], "gold": int(doc["label"])}


class Scorer:
    def __init__(self, gguf_path):
        self.tok = smollm2_reference(gguf_tokenizer_metadata(gguf_path))
        self.model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path),
                                                          dtype=torch.float32, attn_implementation="eager").eval()

    def encode(self, text):  # the tokenizer's defaults: SmolLM2 adds no BOS
        return self.tok.encode(text).ids

    def encode_pair(self, context, continuation):
        """HFLM._encode_pair: the request's input ids (context and continuation, the last token dropped) and the
        continuation's ids."""
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.encode(context + continuation)
        context_enc = self.encode(context)
        continuation_enc = whole[len(context_enc):]
        return (context_enc + continuation_enc)[:-1], continuation_enc

    def loglikelihood(self, context, continuation):  # one request
        ids, continuation_enc = self.encode_pair(context, continuation)
        inp = torch.tensor([ids])
        with torch.no_grad():
            logp = torch.log_softmax(self.model(inp).logits.double(), dim=-1)[0]
        n = len(continuation_enc)
        picked = logp[-n:].gather(1, torch.tensor(continuation_enc)[:, None])
        return picked.sum().item()

    def token_logprobs(self, ids, max_length, stride):
        out = [0.0] * (len(ids) - 1)
        prev_end = 0
        for begin in range(0, len(ids), stride):
            end = min(begin + max_length, len(ids))
            window = torch.tensor([ids[begin:end]])
            with torch.no_grad():
                logp = torch.log_softmax(self.model(window).logits.double(), dim=-1)[0]
            for j in range(max(1, prev_end - begin), end - begin):
                out[begin + j - 1] = logp[j - 1, ids[begin + j]].item()
            prev_end = end
            if end == len(ids):
                break
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    scorer = Scorer(a.gguf)
    hs = os.path.join(a.shared, "data/hellaswag")
    with gzip.open(os.path.join(hs, "hellaswag_val_lmeval.jsonl.gz"), "rt") as f:
        lmeval = [json.loads(next(f)) for _ in range(24)]
    with open(os.path.join(hs, "hellaswag_val_subset1000_original_lines.jsonl")) as f:
        original = [json.loads(next(f)) for _ in range(8)]
    files = {"hellaswag_lmeval24.jsonl": lmeval, "hellaswag_original8.jsonl": original}
    golden = {"versions": {"python": platform.python_version(), "torch": torch.__version__,
                           "transformers": transformers.__version__}, "hellaswag": {}}
    for name, docs in files.items():
        with open(os.path.join(a.out, name), "w") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
        items = []
        for d in map(process_doc, docs):
            ll = [scorer.loglikelihood(d["query"], " " + c) for c in d["choices"]]
            norm = [x / len(c) for x, c in zip(ll, d["choices"])]
            items.append({"query": d["query"], "choices": d["choices"], "loglikelihoods": ll,
                          "pred": max(range(4), key=lambda k: (ll[k], -k)),
                          "pred_norm": max(range(4), key=lambda k: (norm[k], -k)), "gold": d["gold"]})
        golden["hellaswag"][name] = items
    with gzip.open(os.path.join(a.shared, "data/imdb/test.jsonl.gz"), "rt") as f:
        reviews = [json.loads(next(f))["text"] for _ in range(3)]
    with open(os.path.join(a.out, "imdb_test3.jsonl"), "w") as f:
        for r in reviews:
            f.write(json.dumps({"text": r}) + "\n")
    golden["perplexity"] = {"max_length": 64, "stride": 32, "texts": []}
    for r in reviews:
        ids = scorer.encode(r)
        golden["perplexity"]["texts"].append({"input_ids": ids, "token_logprobs": scorer.token_logprobs(ids, 64, 32)})
    with gzip.open(os.path.join(a.out, "references.json.gz"), "wt") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main()
