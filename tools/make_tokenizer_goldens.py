#!/usr/bin/env python3
"""Writes the WordPiece tokenizer goldens in tests/fixtures/tokenizer/ from HF `tokenizers`.

HF is the reference: every id here comes from `tokenizers.BertWordPieceTokenizer` and is cross-checked
against `Tokenizer.from_file(<bert-base-uncased-vocab>/tokenizer.json)` and transformers'
`AutoTokenizer` on the model directories (uncased), or `AutoTokenizer(do_lower_case=False,
strip_accents=False)` (cased); the script stops if any of them disagree. squish's own output is never used.

    python3 tools/make_tokenizer_goldens.py [--shared ../shared] [--out tests/fixtures/tokenizer]

Files (all gzip -n, JSON with ASCII escapes unless noted):
  sst2_dev.json.gz      every SST-2 dev sentence, max_length 128
  mrpc_dev.json.gz      every MRPC dev pair at max_length 128 and 32
  imdb_test.json.gz     first 250 negative + first 250 positive IMDB test reviews, max_length 512, and
                        their untruncated ids (no special tokens)
  hard_strings.json.gz  hand-made hard inputs (and ill-formed UTF-8), uncased and cased settings
  codepoints.txt.gz     what each BertNormalizer step and BertPreTokenizer do to every code point (text)
Data files are read exactly as the C++ test reads them: TSV = UTF-8 text split on "\\n" and "\\t", no
quote processing, header line skipped; IMDB = JSON lines.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import sys

import tokenizers
import transformers
from tokenizers import BertWordPieceTokenizer, Tokenizer
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

MODEL_DIRS = ["models/bert-base-uncased-vocab", "models/bert-tiny-sst2-scratch"]
SETTINGS = {"uncased": dict(lowercase=True), "cased": dict(lowercase=False, strip_accents=False)}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_gz(path, text):
    # mtime=0 and no file name in the header: the same content always gives the same bytes.
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        g.write(text.encode("utf-8"))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    print(f"wrote {path}: {len(buf.getvalue()):,} bytes", file=sys.stderr)


def dump(obj):
    # One case per line keeps diffs of the (decompressed) goldens readable.
    lines = ["{"]
    items = list(obj.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        if k == "cases":
            lines.append(json.dumps(k) + ": [")
            for j, c in enumerate(v):
                lines.append("  " + json.dumps(c, ensure_ascii=True, separators=(",", ":")) +
                             ("," if j + 1 < len(v) else ""))
            lines.append("]" + comma)
        else:
            lines.append(json.dumps(k) + ": " + json.dumps(v, ensure_ascii=True) + comma)
    lines.append("}")
    return "\n".join(lines) + "\n"


def read_tsv(path):
    text = open(path, "rb").read().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.split("\t") for line in lines[1:]]


class References:
    """The HF tokenizers that must agree, per setting."""

    def __init__(self, shared):
        vocab = os.path.join(shared, MODEL_DIRS[0], "vocab.txt")
        self.main = {name: BertWordPieceTokenizer(vocab, **kw) for name, kw in SETTINGS.items()}
        self.others = {"uncased": [Tokenizer.from_file(os.path.join(shared, MODEL_DIRS[0], "tokenizer.json"))],
                       "cased": []}
        for d in MODEL_DIRS:
            fast = transformers.AutoTokenizer.from_pretrained(os.path.join(shared, d))
            self.others["uncased"].append(fast.backend_tokenizer)
        cased = transformers.AutoTokenizer.from_pretrained(os.path.join(shared, MODEL_DIRS[1]), do_lower_case=False,
                                                           strip_accents=False)
        self.others["cased"].append(cased.backend_tokenizer)
        for t in self.others["uncased"] + self.others["cased"]:
            t.no_padding()

    def encode(self, setting, a, b=None, max_length=None):
        results = []
        for t in [self.main[setting]] + self.others[setting]:
            if max_length is None:
                t.no_truncation()
            else:
                t.enable_truncation(max_length, strategy="longest_first")
            e = t.encode(a, b) if b is not None else t.encode(a)
            results.append((e.ids, e.type_ids, e.attention_mask))
        if any(r != results[0] for r in results[1:]):
            raise SystemExit(f"HF tokenizers disagree ({setting}) on {a!r} / {b!r}: {results}")
        ids, type_ids, mask = results[0]
        return {"ids": ids, "type_ids": type_ids, "attention_mask": mask}

    def tokenize(self, setting, text):
        t = self.main[setting]
        t.no_truncation()
        return t.encode(text, add_special_tokens=False).ids


def hard_strings():
    """(name, text) pairs; text is str, or bytes for ill-formed UTF-8."""
    s = [
        ("empty", ""), ("spaces", "   "), ("whitespace_only", "\t\n\r \u00a0\u3000"),
        ("zero_width_only", "\u200b\ufeff"),
        ("accents", "Café naïve résumé Ångström crème brûlée façade ÉCOLE"),
        ("decomposed_accent", "cafe\u0301 re\u0301sume\u0301"),
        ("combining_order", "a\u0301\u0316 x\u0334\u0301 o\u0308\u0323 \u0301leading q\u0323\u0307"),
        ("combining_new_marks", "x\u07fd\u0316 y\u0301\u1ac1\u0323 z\u1dfa\u0300"),
        ("cjk", "我爱北京天安门 BERT是一个模型。"), ("japanese", "日本語のテキスト、カタカナ！"),
        ("hangul", "안녕하세요 세계"), ("cjk_ext", "\U00020000\U0002a700\U0002b820\U0002b920\uf900\U0002f800"),
        ("emoji", "I love it 😀👍🏽❤️ 🥰 👨‍👩‍👧 🇺🇸!"),
        ("zero_width", "a\u200bb zero\u200cwidth\u200djoiner \ufeffbom soft\u00adhyphen \u2060wj"),
        ("controls", "tab\tnew\nline\rcr\x00nul\x07bell\x0bvt\x0cff\x1besc\x7fdel\x85nel\x9fapc"),
        ("separators", "line\u2028para\u2029nbsp\u00a0thin\u2009ideo\u3000end\u1680ogham\u180emvs"),
        ("private_use", "\ue000x\U000f0000y\U0010fffdz"), ("replacement_char", "a\ufffdb"),
        ("turkish", "İstanbul ISTANBUL ıi İ i̇"), ("german", "Straße STRASSE ß ẞ Grüße"),
        ("greek", "ΟΔΥΣΣΕΥΣ Σίσυφος ς σ Σ ὈΔΥΣΣΕΎΣ ΐ"),
        ("newer_case_pairs", "\ua7cb\ua7dc\U00010d50 \u1c89"),
        ("newer_format_chars", "a\u08e2b \U00013430c \U00011938d"),
        ("category_changed", "a\u166db a\U000111c9b a\u1734b a\u1885b"),
        ("fullwidth_ligature", "ＡＢＣ１２３ ﬁne ﬀ ㎏ ①"),
        ("punctuation", "hello,world!! don't U.S.A. $100 «quote» —dash– ¿qué? ‘smart’ “quotes” #tag @u a...b …"),
        ("symbols", "x≤y ±1 ≠ 2 ⌘⌥ © ® ™ ° € £ ¥ ^_^ `~|"),
        ("numbers", "12,345.67 1st 2nd 3rd 1/2 ½ ²"),
        ("scripts", "مرحبا بالعالم שָׁלוֹם नमस्ते สวัสดี Привет МИР ქართული"),
        ("specials", "hello [SEP] world [MASK]x[mask] [UNK][PAD][CLS] [[SEP]] [SE P] [CLS"),
        ("unknown", "ZZZZQQQXXX qqqqzzzz ⿰⿱"),
        ("long_ascii_100", "a" * 100), ("long_ascii_101", "b" * 101),
        ("long_multibyte_100", "é" * 100), ("long_multibyte_101", "é" * 101),
        ("long_emoji_101", "😀" * 101), ("long_decomposed_60", "e\u0301" * 60),
        ("long_word_in_sentence", "short " + "x" * 150 + " words " + "ü" * 99 + " end"),
        ("long_sentence", " ".join(["the quick brown fox jumps over the lazy dog"] * 80)),
        ("html", "great movie!<br /><br />10/10 would watch again"),
    ]
    s += [
        ("utf8_bad_lead", b"abc\xff def"), ("utf8_bad_continuation", b"\xc3( ok"),
        ("utf8_surrogate", b"\xed\xa0\x80x"), ("utf8_truncated_emoji", b"smile \xf0\x9f\x98"),
        ("utf8_latin1", b"caf\xe9 na\xefve"), ("utf8_overlong", b"\xc0\xaf \xe0\x80\xaf"),
        ("utf8_too_big", b"\xf4\x90\x80\x80 \xf8\x88\x80\x80\x80"), ("utf8_lone_continuation", b"a\x80\xbfb"),
        ("utf8_truncated_end", b"end\xe2\x82"),
    ]
    return s


def pair_cases():
    words = lambda n, base: " ".join(f"{base}{i}" for i in range(n)) if n else ""
    out = [("long_short", words(40, "alpha"), "short one"), ("short_long", "short one", words(40, "beta")),
           ("long_long", words(30, "gamma"), words(50, "delta")), ("equal", words(20, "e"), words(20, "f"))]
    return out


def build_hard(refs):
    cases = []
    for setting in SETTINGS:
        for name, text in hard_strings():
            case = {"name": name, "setting": setting}
            if isinstance(text, bytes):
                case["bytes_hex"] = text.hex()
                text = text.decode("utf-8", errors="replace")
            else:
                case["text"] = text
            cases.append(dict(case, max_length=512, **refs.encode(setting, text, max_length=512),
                              tokenize=refs.tokenize(setting, text)))
            cases.append(dict(case, max_length=8, **refs.encode(setting, text, max_length=8)))
        for name, a, b in pair_cases():
            for ml in (512, 64, 40, 16, 7, 4, 3):
                cases.append({"name": "pair_" + name, "setting": setting, "text": a, "text_b": b, "max_length": ml,
                              **refs.encode(setting, a, b, max_length=ml)})
        # Every split of the budget: side lengths and max_length on a grid.
        lengths = [0, 1, 2, 3, 5, 8, 13]
        for na in lengths:
            for nb in lengths:
                a = " ".join(["good"] * na)
                b = " ".join(["bad"] * nb)
                for ml in (3, 4, 5, 6, 7, 8, 10, 13, 16, 20):
                    cases.append({"name": f"grid_{na}_{nb}", "setting": setting, "text": a, "text_b": b,
                                  "max_length": ml, **refs.encode(setting, a, b, max_length=ml)})
    return cases


def codepoint_table():
    """One line per run of code points whose behaviour is not trivial; trivial = kept, not CJK,
    unchanged by accent stripping and lower-casing, not a split point."""
    steps = {
        "clean": BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False),
        "cjk": BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False),
        "strip": BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False),
        "lower": BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True),
    }
    pre = BertPreTokenizer()
    hexs = lambda s, c: "=" if s == chr(c) else (",".join("%X" % ord(x) for x in s) or "_")
    rows = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        cl = steps["clean"].normalize_str(ch)
        clean = "R" if cl == "" else ("W" if cl == " " and c != 0x20 else "K")
        cjk = "C" if steps["cjk"].normalize_str(ch) != ch else "-"
        split = {1: "N", 2: "S", 3: "P"}[len(pre.pre_tokenize_str("a" + ch + "b"))]
        fields = (clean, cjk, hexs(steps["strip"].normalize_str(ch), c), hexs(steps["lower"].normalize_str(ch), c), split)
        if fields == ("K", "-", "=", "=", "N"):
            continue
        if rows and rows[-1][1] == c - 1 and rows[-1][2] == fields and "=" == fields[2] == fields[3]:
            rows[-1][1] = c
        else:
            rows.append([c, c, fields])
    out = ["# squish tokenizer golden: HF BertNormalizer steps and BertPreTokenizer on each code point",
           f"# tokenizers {tokenizers.__version__}; written by tools/make_tokenizer_goldens.py",
           "# FIRST[-LAST] clean(K kept,R removed,W->space) cjk(C spaced,-) strip(= same, _ empty, else hex,)"
           " lower(same) split of 'a'+c+'b'(N none,S whitespace,P punctuation)",
           "# code points not listed (surrogates aside): K - = = N"]
    for first, last, f in rows:
        cp = "%X" % first if first == last else "%X-%X" % (first, last)
        out.append(cp + " " + " ".join(f))
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "tokenizer"))
    args = ap.parse_args()
    shared = os.path.abspath(args.shared)
    os.makedirs(args.out, exist_ok=True)

    vocabs = {d: sha256(os.path.join(shared, d, "vocab.txt")) for d in MODEL_DIRS}
    if len(set(vocabs.values())) != 1:
        raise SystemExit(f"the model vocabularies differ ({vocabs}); goldens assume one vocabulary")
    refs = References(shared)
    meta = {"generator": "tools/make_tokenizer_goldens.py", "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__, "python": platform.python_version(),
            "reference": "tokenizers.BertWordPieceTokenizer(vocab.txt, lowercase=...), cross-checked",
            "vocab_sha256": vocabs, "settings": {k: str(v) for k, v in SETTINGS.items()}}

    rows = read_tsv(os.path.join(shared, "data/glue/sst2/dev.tsv"))
    cases = [refs.encode("uncased", r[0], max_length=128) for r in rows]
    write_gz(os.path.join(args.out, "sst2_dev.json.gz"),
             dump(dict(meta, source="data/glue/sst2/dev.tsv column 0", setting="uncased", max_length=128, cases=cases)))

    rows = read_tsv(os.path.join(shared, "data/glue/mrpc/dev.tsv"))
    cases = []
    for ml in (128, 32):
        cases += [dict(max_length=ml, **refs.encode("uncased", r[3], r[4], max_length=ml)) for r in rows]
    write_gz(os.path.join(args.out, "mrpc_dev.json.gz"),
             dump(dict(meta, source="data/glue/mrpc/dev.tsv columns 3, 4; each pair at max_length 128, then 32",
                       setting="uncased", cases=cases)))

    texts = {0: [], 1: []}
    with gzip.open(os.path.join(shared, "data/imdb/test.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if len(texts[d["label"]]) < 250:
                texts[d["label"]].append(d["text"])
    cases = [dict(refs.encode("uncased", t, max_length=512), tokenize=refs.tokenize("uncased", t))
             for t in texts[0] + texts[1]]
    write_gz(os.path.join(args.out, "imdb_test.json.gz"),
             dump(dict(meta, source="data/imdb/test.jsonl.gz: first 250 lines with label 0, then first 250 with label 1",
                       setting="uncased", max_length=512, cases=cases)))

    write_gz(os.path.join(args.out, "hard_strings.json.gz"),
             dump(dict(meta, source="tools/make_tokenizer_goldens.py hard_strings(); bytes_hex cases are ill-formed"
                       " UTF-8 given to HF as bytes.decode('utf-8', errors='replace')", cases=build_hard(refs))))
    write_gz(os.path.join(args.out, "codepoints.txt.gz"), codepoint_table())


if __name__ == "__main__":
    main()
