#!/usr/bin/env python3
"""Writes the byte-level BPE tokenizer goldens in tests/fixtures/tokenizer/bpe/ from HF `tokenizers`.

Three references, squish's own output never used:
  gpt2     `tokenizers.Tokenizer` on shared/models/gpt2-tokenizer (BPE from vocab.json + merges.txt, ByteLevel
           pre-tokenizer, "<|endoftext|>" special), checked against transformers' GPT2Tokenizer on that folder.
  opt      transformers' AutoTokenizer on shared/models/opt-125m-tokenizer (prepends "</s>").
  smollm2  `tokenizers.Tokenizer` built from the GGUF's tokens and merges with SmolLM2's own pre-tokenizer
           (Digits(individual_digits=True), then ByteLevel), control tokens special. transformers 5.24's GGUF
           reader drops the digit split, so it is used only as a check on the texts without numeric characters.

    python3 tools/make_bpe_goldens.py [--shared ../shared] [--gguf PATH] [--out tests/fixtures/tokenizer/bpe]

The GGUF comes from tools/fetch_smollm2.sh (its path is the script's last line of output).

Files (gzip -n):
  manifest.json.gz            versions, sources' sha256, per tokenizer the ids HF adds around a text by default
                              (checked on every text), per corpus the number of texts and the binary layout
  <corpus>.bin.gz             imdb_train, sst2_train, mrpc_train: for each tokenizer (manifest order) the token
                              counts of every text, then a 32-bit hash of every text's ids, as little-endian uint32
  samples.json.gz             full ids (no special tokens) of 100 texts of each corpus
  crafted.json.gz             hand-made unicode / digit / whitespace / contraction / special-token strings and
                              seeded random mixtures, ids without and with special tokens; ill-formed UTF-8 as hex
                              (the reference is HF on Python's errors="replace" decoding)
  smollm2_gguf_tokenizer.json.gz  the GGUF's tokenizer.ggml.* metadata as JSON, so tests need no download
  tokenizer_json_skeletons.json.gz  the tokenizer.json HF writes for opt and smollm2 with model.vocab and
                              model.merges emptied (the test refills them from the same sources)
  codepoints.txt.gz           each code point's class in the GPT-2 regex and whether Digits isolates it
Data files are read exactly as the C++ test reads them: TSV = UTF-8 text split on "\\n" and "\\t", no quote
processing, header skipped (SST-2 column 0, MRPC columns 3 and 4, each a text); IMDB = JSON lines.

The hash: FNV-1a over 64 bits taking one id (not one byte) per step, h = (h ^ id) * 0x100000001b3 from
0xcbf29ce484222325, then folded to 32 bits as (h ^ (h >> 32)) & 0xffffffff.
"""

import argparse
import array
import gzip
import hashlib
import io
import json
import os
import platform
import random
import sys
import unicodedata

import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

TOKENIZERS = ["gpt2", "opt", "smollm2"]
CORPORA = ["imdb_train", "sst2_train", "mrpc_train"]
FNV_OFFSET, FNV_PRIME, MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_gz(path, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        g.write(data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    print(f"wrote {path}: {len(buf.getvalue()):,} bytes", file=sys.stderr)


def ids_hash(ids):
    h = FNV_OFFSET
    for i in ids:
        h = ((h ^ i) * FNV_PRIME) & MASK
    return (h ^ (h >> 32)) & 0xFFFFFFFF


def read_tsv(path):
    raw = open(path, "rb").read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    lines = raw.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.split("\t") for line in lines[1:]]


def corpus_texts(shared, name):
    if name == "imdb_train":
        with gzip.open(os.path.join(shared, "data/imdb/train.jsonl.gz"), "rt", encoding="utf-8") as f:
            return [json.loads(line)["text"] for line in f]
    if name == "sst2_train":
        return [row[0] for row in read_tsv(os.path.join(shared, "data/glue/sst2/train.tsv.gz"))]
    texts = []
    for row in read_tsv(os.path.join(shared, "data/glue/mrpc/train.tsv")):
        texts += [row[3], row[4]]
    return texts


def gguf_tokenizer_metadata(gguf_path):
    from gguf import GGUFReader

    reader = GGUFReader(gguf_path)
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("tokenizer.ggml."):
            meta[key] = field.contents()
    return meta


def smollm2_reference(meta):
    vocab = {tok: i for i, tok in enumerate(meta["tokenizer.ggml.tokens"])}
    merges = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    control = [t for t, kind in zip(meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]) if kind == 3]
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in control])
    assert not meta.get("tokenizer.ggml.add_bos_token") and not meta.get("tokenizer.ggml.add_eos_token")
    return tok


class References:
    def __init__(self, shared, gguf_path):
        gpt2_dir = os.path.join(shared, "models/gpt2-tokenizer")
        files = [os.path.join(gpt2_dir, f) for f in ("vocab.json", "merges.txt")]
        gpt2 = Tokenizer(models.BPE.from_file(*files))
        gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        gpt2.add_special_tokens([AddedToken("<|endoftext|>", normalized=False, special=True)])
        self.gpt2_check = transformers.GPT2Tokenizer.from_pretrained(gpt2_dir)
        self.opt = transformers.AutoTokenizer.from_pretrained(os.path.join(shared, "models/opt-125m-tokenizer"))
        self.meta = gguf_tokenizer_metadata(gguf_path)
        self.smollm2_check = transformers.AutoTokenizer.from_pretrained(os.path.dirname(gguf_path),
                                                                        gguf_file=os.path.basename(gguf_path))
        self.fast = {"gpt2": gpt2, "smollm2": smollm2_reference(self.meta)}
        for t in self.fast.values():
            t.no_truncation()
            t.no_padding()

    def encode(self, name, texts, special):
        if name == "opt":
            return self.opt(texts, add_special_tokens=special)["input_ids"]
        ids = [e.ids for e in self.fast[name].encode_batch(texts, add_special_tokens=special)]
        if name == "gpt2":
            check = self.gpt2_check(texts, add_special_tokens=special)["input_ids"]
            bad = [i for i in range(len(texts)) if check[i] != ids[i]]
            if bad:
                raise SystemExit(f"gpt2: tokenizers and transformers disagree on {texts[bad[0]]!r}")
        return ids


def has_numeric(text):
    return any(unicodedata.category(c)[0] == "N" for c in text)


def decoration(refs, name, texts):
    """The ids HF adds around every text by default, checked on all of them."""
    plain = refs.encode(name, texts, False)
    full = refs.encode(name, texts, True)
    # "x" is one token everywhere and no special token, so what surrounds it is the decoration.
    x_plain, x_full = refs.encode(name, ["x"], False)[0], refs.encode(name, ["x"], True)[0]
    assert len(x_plain) == 1 and x_full.count(x_plain[0]) == 1
    k = x_full.index(x_plain[0])
    prefix, suffix = x_full[:k], x_full[k + 1:]
    for p, f, t in zip(plain, full, texts):
        if f != prefix + p + suffix:
            raise SystemExit(f"{name}: special tokens are not a constant prefix/suffix on {t!r}: {f} vs {p}")
    return plain, prefix, suffix


def crafted_strings():
    """(name, text) pairs; text is str, or bytes for ill-formed UTF-8."""
    s = [
        ("empty", ""), ("one_space", " "), ("spaces", "   "), ("trailing_spaces", "hello   "),
        ("leading_spaces", "   hello"), ("space_runs", "a  b   c    d"), ("tabs_newlines", "a\tb\n\nc\r\nd \n e\t\t f"),
        ("newline_before_word", "line one\nline two\n\n  indented"), ("only_newlines", "\n\n\n"),
        ("unicode_spaces", "a\u00a0b\u3000c\u2009d\u2028e\u2029f\u0085g\u1680h\u180ei\u200bj\u202fk\u205fl"),
        ("space_before_unicode_space", "a \u00a0b  \u3000c\u00a0 d"),
        ("contractions", "I'm you're we've they'll she'd it's don't can't"),
        ("contractions_upper", "I'M YOU'RE IT'S DON'T 'S 'Re"), ("contraction_edges", "'s's ''s '' ' x' 'sup 'dx"),
        ("apostrophes", "rock 'n' roll ’s ‘quoted’ 'll've"),
        ("punctuation_runs", "Wait...what?!? (yes) [no] {maybe} -- -> <= >= == !== ;;; :::"),
        ("space_punct", "a , b . c ! d ?? e ..."), ("html", "great movie!<br /><br />10/10 would watch again"),
        ("digits", "0 1 12 123 1234 12345 3.14159 1,000,000 $1,234.56 99% 1st 2nd 2024-01-31 10:30pm"),
        ("digits_glued", "abc123def 4you v2.0.1 x86_64 B2B 0x1F"),
        ("unicode_digits", "٣٤٥ ३४५ ১২৩ ๓๔๕ ²³ ½ ⅓ Ⅷ ① 〇 𝟙𝟚"),
        ("space_digit", " 7 77  777 \t8"), ("accents", "Café naïve résumé Ångström crème brûlée façade ÉCOLE"),
        ("decomposed", "cafe\u0301 re\u0301sume\u0301 n\u0303"), ("marks_alone", "\u0301 \u0301a a\u0301\u0316"),
        ("cjk", "我爱北京天安门 BERT是一个模型。"), ("japanese", "日本語のテキスト、カタカナ！ｶﾀｶﾅ"),
        ("hangul", "안녕하세요 세계"), ("scripts", "مرحبا بالعالم שָׁלוֹם नमस्ते สวัสดี Привет МИР ქართული"),
        ("emoji", "I love it 😀👍🏽❤️ 🥰 👨‍👩‍👧 🇺🇸!"), ("symbols", "x≤y ±1 ≠ 2 ⌘⌥ © ® ™ ° € £ ¥ ^_^ `~|"),
        ("controls", "tab\tnul\x00bell\x07esc\x1bdel\x7fapc\x9f"), ("private_use", "\ue000x\U000f0000y"),
        ("replacement", "a\ufffdb"), ("zero_width", "a\u200bb\u200cc\u200dd\ufeffe\u00adf"),
        ("fullwidth", "ＡＢＣ１２３ ﬁne ㎏"), ("math_letters", "𝐀𝐁𝐂 𝔄𝔅 ℌ ℵ"),
        ("special_gpt2", "a<|endoftext|>b <|endoftext|> <|endoftext|><|endoftext|>x<|endoftext"),
        ("special_opt", "a</s>b <pad> <s> <unk> </s></s>x </s"),
        ("special_smollm2", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant <|endoftext|><file_sep>x"),
        ("special_mixed", "<|endoftext|></s><|im_end|><pad>"), ("special_spaced", " </s> <|im_start|> <|endoftext|> "),
        ("long_word", "a" * 300), ("long_digits", "1234567890" * 30), ("long_spaces", " " * 200 + "x"),
        ("long_sentence", " ".join(["the quick brown fox jumps over the lazy dog"] * 60)),
        ("url_code", "https://example.com/path?q=1&x=y#frag def f(x): return x**2 # comment"),
        ("mixed_case", "McDonald's iPhone eBay HTML5 camelCaseWord snake_case_word"),
    ]
    s += [
        ("utf8_bad_lead", b"abc\xff def"), ("utf8_bad_continuation", b"\xc3( ok"), ("utf8_surrogate", b"\xed\xa0\x80x"),
        ("utf8_truncated_emoji", b"smile \xf0\x9f\x98"), ("utf8_latin1", b"caf\xe9 na\xefve"),
        ("utf8_overlong", b"\xc0\xaf \xe0\x80\xaf"), ("utf8_lone_continuation", b"a\x80\xbfb"),
        ("utf8_truncated_end", b"end\xe2\x82"),
    ]
    pieces = ["a", "Z", "é", "ß", "Ω", "ж", "中", "ア", "한", "ع", "ש", "न", "ก", "0", "7", "٣", "²", "½", "Ⅷ", " ", " ",
              "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\u0085", "\u200b", "'", "'s", "'t", "'re", "'ll",
              "'d", "'m", "'ve", "!", "?", ".", ",", "-", "_", "\"", "(", "$", "@", "😀", "👍🏽", "\u0301", "\x00",
              "\ue000", "<|endoftext|>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>", "<s>", "hello", " world", "123"]
    rng = random.Random(20241206)
    for i in range(300):
        s.append((f"random_{i}", "".join(rng.choice(pieces) for _ in range(rng.randint(1, 24)))))
    return s


def codepoint_table():
    """The class of every code point in the GPT-2 regex (L letter, N number, S \\s, O other) and whether
    pre_tokenizers.Digits isolates it, as runs of equal (class, digit)."""
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    digits = pre_tokenizers.Digits(individual_digits=True)
    n = lambda pre, s: len(pre.pre_tokenize_str(s))
    rows = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        if n(byte_level, "a" + ch) == 1:
            cls = "L"
        elif n(byte_level, "1" + ch) == 1:
            cls = "N"
        elif n(byte_level, "!" + ch) == 1:
            cls = "O"
        elif n(byte_level, "\t" + ch) == 1:
            cls = "S"
        else:
            raise SystemExit(f"U+{c:04X} fits no class")
        digit = "D" if n(digits, "a" + ch + "a") == 3 else "-"
        if rows and rows[-1][1] == c - 1 and rows[-1][2] == (cls, digit):
            rows[-1][1] = c
        else:
            rows.append([c, c, (cls, digit)])
    out = ["# squish tokenizer golden: the GPT-2 pre-tokenizer regex's class of each code point and HF Digits",
           f"# tokenizers {tokenizers.__version__}; written by tools/make_bpe_goldens.py",
           "# FIRST[-LAST] class (L \\p{L}, N \\p{N}, S \\s, O the rest) digit (D isolated by Digits, - not)",
           "# surrogates D800-DFFF are not listed"]
    for first, last, (cls, digit) in rows:
        cp = "%X" % first if first == last else "%X-%X" % (first, last)
        out.append(f"{cp} {cls} {digit}")
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    cache = os.path.expanduser(os.environ.get("SQUISH_CACHE_DIR", "~/.cache/squish"))
    ap.add_argument("--gguf", default=os.path.join(cache, "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "tokenizer", "bpe"))
    ap.add_argument("--skip-codepoints", action="store_true", help="keep the existing codepoints.txt.gz")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    refs = References(args.shared, args.gguf)

    manifest = {
        "written_by": "tools/make_bpe_goldens.py",
        "versions": {"python": platform.python_version(), "tokenizers": tokenizers.__version__,
                     "transformers": transformers.__version__},
        "sources": {
            "gpt2": {f: sha256(os.path.join(args.shared, "models/gpt2-tokenizer", f))
                     for f in ["vocab.json", "merges.txt"]},
            "opt": {f: sha256(os.path.join(args.shared, "models/opt-125m-tokenizer", f))
                    for f in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]},
            "smollm2": {os.path.basename(args.gguf): sha256(args.gguf)},
        },
        "tokenizers": TOKENIZERS,
        "hash": "FNV-1a 64 over ids, h = (h ^ id) * 0x100000001b3 from 0xcbf29ce484222325, folded (h ^ h >> 32) to 32 "
                "bits",
        "layout": "per tokenizer in order: uint32 token count of each text, then uint32 hash of each text (LE)",
        "special": {}, "corpora": {},
    }
    samples = {"cases": []}
    for corpus in CORPORA:
        texts = corpus_texts(args.shared, corpus)
        counts, hashes = [], []
        stride = max(1, len(texts) // 100)
        numeric_free = [t for t in texts if not has_numeric(t)]
        for name in TOKENIZERS:
            plain, prefix, suffix = decoration(refs, name, texts)
            special = manifest["special"].setdefault(name, {"prefix": prefix, "suffix": suffix})
            if special != {"prefix": prefix, "suffix": suffix}:
                raise SystemExit(f"{name}: special tokens differ between corpora")
            counts.append(array.array("I", [len(p) for p in plain]))
            hashes.append(array.array("I", [ids_hash(p) for p in plain]))
            for i in range(0, len(texts), stride)[:100]:
                samples["cases"].append({"corpus": corpus, "index": i, "tokenizer": name, "ids": plain[i]})
            if name == "smollm2":
                got = refs.smollm2_check(numeric_free, add_special_tokens=False)["input_ids"]
                mine = refs.encode("smollm2", numeric_free, False)
                bad = sum(a != b for a, b in zip(got, mine))
                if bad:
                    raise SystemExit(f"smollm2: the reference and transformers' GGUF tokenizer disagree on {bad} texts")
                print(f"{corpus}: smollm2 reference = transformers' GGUF tokenizer on all {len(numeric_free):,} "
                      f"texts without numeric characters", file=sys.stderr)
        manifest["corpora"][corpus] = {"texts": len(texts), "tokens": {n: sum(c) for n, c in zip(TOKENIZERS, counts)},
                                       "smollm2_checked_against_transformers_gguf": len(numeric_free)}
        blob = b"".join(c.tobytes() + h.tobytes() for c, h in zip(counts, hashes))
        assert sys.byteorder == "little"
        write_gz(os.path.join(args.out, corpus + ".bin.gz"), blob)
    write_gz(os.path.join(args.out, "manifest.json.gz"), json.dumps(manifest, indent=1) + "\n")
    write_gz(os.path.join(args.out, "samples.json.gz"),
             "{\"cases\": [\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in samples["cases"]) + "\n]}\n")

    cases = []
    for name, text in crafted_strings():
        case = {"name": name}
        if isinstance(text, bytes):
            case["bytes_hex"] = text.hex()
            text = text.decode("utf-8", errors="replace")
        else:
            case["text"] = text
        for tok in TOKENIZERS:
            case[tok] = refs.encode(tok, [text], False)[0]
            case[tok + "_special"] = refs.encode(tok, [text], True)[0]
        cases.append(case)
    write_gz(os.path.join(args.out, "crafted.json.gz"),
             "{\"cases\": [\n" + ",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases) +
             "\n]}\n")

    meta = {k: v for k, v in refs.meta.items()}
    write_gz(os.path.join(args.out, "smollm2_gguf_tokenizer.json.gz"),
             json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n")
    skeletons = {}
    for name, backend in [("opt", refs.opt.backend_tokenizer), ("smollm2", refs.fast["smollm2"])]:
        skeleton = json.loads(backend.to_str())
        skeleton["model"]["vocab"], skeleton["model"]["merges"] = {}, []
        skeletons[name] = skeleton
    write_gz(os.path.join(args.out, "tokenizer_json_skeletons.json.gz"),
             json.dumps(skeletons, ensure_ascii=True, indent=1) + "\n")
    if not args.skip_codepoints:
        write_gz(os.path.join(args.out, "codepoints.txt.gz"), codepoint_table())


if __name__ == "__main__":
    main()
