#!/usr/bin/env python3
"""Makes the GGUF reader's goldens in tests/fixtures/gguf/ with the PyPI `gguf` package (llama.cpp's gguf-py).

  types.gguf                   one small tensor of every type squish dequantizes, written by gguf.GGUFWriter:
                               F32 (with NaN payloads, infinities, -0, subnormals), F16 and BF16 (specials
                               included), Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 quantized by gguf.quants.quantize
                               from random normals, and Q2_K, Q3_K, Q4_K, Q5_K, Q6_K as random block bytes
                               with fp16 super-scales set to sane values (gguf has no k-quant quantizer);
                               plus metadata of every GGUF value type, typed and nested arrays, and 1-4-d
                               shapes.
  types.expected.safetensors   every tensor as gguf.quants.dequantize gives it from the file's bytes (read
                               back with gguf.GGUFReader), F32, in squish's row-major shape (ggml's ne
                               reversed), under the same names; the test compares the bits.
  types.expected.json          the metadata gguf.GGUFReader reads (key -> value, floats as the exact double),
                               each tensor's type and shape, and the versions used.
  smollm2.expected.json        with --smollm2 PATH: for three tensors of SmolLM2-135M-Instruct.Q4_1.gguf
                               (tools/fetch_smollm2.sh) - a Q4_1 Linear, the Q8_0 token_embd and an F32 norm -
                               the fp32 bit patterns of 320 elements and two checksums of the whole tensor
                               (see checksums() below), and a few metadata values.

Usage: python3 tools/make_gguf_fixtures.py [--smollm2 PATH] (writes into tests/fixtures/gguf/; bit-identical on
rerun).
"""
import argparse
import json
import os
import platform
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "gguf")


def versions():
    return {"python": platform.python_version(), "numpy": np.__version__,
            "gguf": getattr(gguf, "__version__", None) or _dist_version("gguf")}


def _dist_version(name):
    from importlib.metadata import version
    return version(name)


# Metadata of every value type, typed and nested arrays (GGUFWriter adds general.architecture first):
# key, value, GGUF type, array element type (None: taken from the first element).
METADATA = [
    ("test.u8", 200, V.UINT8, None),
    ("test.i8", -100, V.INT8, None),
    ("test.u16", 65000, V.UINT16, None),
    ("test.i16", -32000, V.INT16, None),
    ("test.u32", 4_000_000_000, V.UINT32, None),
    ("test.i32", -2_000_000_000, V.INT32, None),
    ("test.f32", 0.1, V.FLOAT32, None),
    ("test.u64", 2**64 - 1, V.UINT64, None),
    ("test.i64", -(2**63), V.INT64, None),
    ("test.f64", 1.0 / 3.0, V.FLOAT64, None),
    ("test.bool_true", True, V.BOOL, None),
    ("test.bool_false", False, V.BOOL, None),
    ("test.string", "h\u00e9llo, GGUF\nline two", V.STRING, None),
    ("test.empty_string", "", V.STRING, None),
    ("test.array_str", ["a", "bc", "", "\u00fc"], V.ARRAY, None),
    ("test.array_i32", [1, -2, 3], V.ARRAY, None),
    ("test.array_f32", [0.5, -1.25, 3.0e-3], V.ARRAY, None),
    ("test.array_bool", [True, False, True], V.ARRAY, None),
    ("test.array_u8", [0, 255, 7], V.ARRAY, V.UINT8),
    ("test.array_i16", [-32768, 32767], V.ARRAY, V.INT16),
    ("test.array_u64", [0, 2**64 - 1], V.ARRAY, V.UINT64),
    ("test.array_f64", [1.0e300, -2.5], V.ARRAY, V.FLOAT64),
    ("test.array_nested", [[1, 2], [3], [4, 5, 6]], V.ARRAY, None),
    ("test.array_nested_str", [["x", "y"], ["z"]], V.ARRAY, None),
    ("llama.block_count", 2, V.UINT32, None),
]


def expected_metadata():
    """METADATA's values as a reader must give them: float32 values (written as float32) widened exactly.
    GGUFReader flattens nested arrays, so the written values are the reference; the flat ones are checked
    against GGUFReader in make_expected."""
    def f32(v):
        return [f32(x) for x in v] if isinstance(v, list) else float(np.float32(v)) if isinstance(v, float) else v
    out = {"general.architecture": "squishtest"}
    for key, value, vtype, sub_type in METADATA:
        # Floats in arrays without an element type are float32 (GGUFValueType.get_type); FLOAT64 arrays say so.
        out[key] = value if vtype == V.FLOAT64 or sub_type == V.FLOAT64 else f32(value)
    return out


def f16_bits(x):
    return np.array([x], dtype=np.float32).astype(np.float16).view(np.uint16)[0]


def random_k_blocks(rng, qtype, n_blocks):
    """Random block bytes with every fp16 super-scale (d, and dmin where the type has one) replaced by a finite,
    moderate value of either sign, so the dequantized values are ordinary numbers."""
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    # Byte offsets of the fp16 super-scales in ggml's block structs.
    scale_offsets = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}[qtype]
    for b in range(n_blocks):
        for off in scale_offsets:
            value = rng.uniform(1e-3, 5e-2) * (1 if rng.random() < 0.7 else -1)
            blocks[b, off:off + 2] = np.array([f16_bits(value)], dtype=np.uint16).view(np.uint8)
    return blocks


def make_types(rng):
    path = os.path.join(OUT, "types.gguf")
    w = gguf.GGUFWriter(path, arch="squishtest")
    for key, value, vtype, sub_type in METADATA:
        w.add_key_value(key, value, vtype, sub_type=sub_type)

    # Plain types, with the values whose bits are easiest to get wrong.
    specials32 = np.array([0x7FC00001, 0xFFC12345, 0x7F800001, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001,
                           0x807FFFFF, 0x3F800000, 0x7F7FFFFF], dtype=np.uint32).view(np.float32)
    f32 = rng.standard_normal((3, 6)).astype(np.float32)
    f32.reshape(-1)[:10] = specials32
    w.add_tensor("plain.f32", f32)
    # F16: quiet NaNs only (numpy may convert with F16C, which quiets a signalling NaN; ggml's table does not).
    specials16 = np.array([0x7E00, 0xFE01, 0x7C00, 0xFC00, 0x8000, 0x0001, 0x83FF, 0x7BFF, 0x0400, 0x3C00],
                          dtype=np.uint16).view(np.float16)
    f16 = rng.standard_normal((2, 8)).astype(np.float16)
    f16.reshape(-1)[:10] = specials16
    w.add_tensor("plain.f16", f16)
    specials_bf16 = np.array([0x7FC0, 0x7F81, 0xFF80, 0x8000, 0x0001, 0x3F80, 0x7F7F], dtype=np.uint16)
    bf16 = rng.standard_normal((4, 4)).astype(np.float32)
    bf16_bytes = gguf.quants.quantize(bf16, T.BF16).view(np.uint16).copy()
    bf16_bytes.reshape(-1)[:7] = specials_bf16
    w.add_tensor("plain.bf16", bf16_bytes.view(np.uint8), raw_dtype=T.BF16)
    # Shapes of every rank: ggml's ne is this reversed.
    w.add_tensor("shape.1d", rng.standard_normal(5).astype(np.float32))
    w.add_tensor("shape.3d", rng.standard_normal((2, 3, 4)).astype(np.float32))
    w.add_tensor("shape.4d", rng.standard_normal((2, 1, 3, 2)).astype(np.float32))

    for qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        x = rng.standard_normal((3, 64)).astype(np.float32)
        x[0, :32] = 0.0  # an all-zero block: scale 0
        w.add_tensor("quant." + qtype.name.lower(), gguf.quants.quantize(x, qtype), raw_dtype=qtype)
    for qtype in (T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K):
        rows, blocks_per_row = 2, 2
        blocks = random_k_blocks(rng, qtype, rows * blocks_per_row).reshape(rows, -1)
        w.add_tensor("quant." + qtype.name.lower(), blocks, raw_dtype=qtype)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def write_safetensors(path, tensors):
    """A minimal safetensors writer (F32 only), so the goldens need nothing beyond numpy and gguf."""
    header, offset, blobs = {}, 0, []
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def field_value(field):
    """A flat value or array as GGUFReader reads it, float32 widened exactly to a Python float."""
    def conv(x, vtype):
        if vtype in (V.FLOAT32, V.FLOAT64):
            return float(x)
        if vtype == V.BOOL:
            return bool(x)
        return x if vtype == V.STRING else int(x)

    if field.types[0] == V.ARRAY:
        return [conv(v, field.types[-1]) for v in field.contents()]
    return conv(field.contents(), field.types[0])


def dequantized(t):
    """gguf's dequantization of a tensor read back from the file, in row-major (ne reversed) shape."""
    shape = [int(n) for n in reversed(t.shape)]
    values = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape(shape)


def checksums(values):
    """Two sums of the fp32 bit patterns (as unsigned 64-bit, wrapping): plain, and weighted by position + 1.
    Any changed element changes the first; swapped elements change the second."""
    bits = values.reshape(-1).view(np.uint32).astype(np.uint64)
    weights = np.arange(1, bits.size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return int(bits.sum(dtype=np.uint64)), int((bits * weights).sum(dtype=np.uint64))


def make_expected(path):
    reader = gguf.GGUFReader(path)
    tensors = [(t.name, dequantized(t)) for t in reader.tensors]
    write_safetensors(os.path.join(OUT, "types.expected.safetensors"), tensors)
    metadata = expected_metadata()
    for k, f in reader.fields.items():
        if k.startswith("GGUF."):
            continue
        assert k in metadata, k
        if f.types.count(V.ARRAY) <= 1:
            assert field_value(f) == metadata[k], (k, field_value(f), metadata[k])
    assert len(metadata) == len(reader.fields) - 3
    doc = {
        "made_by": "tools/make_gguf_fixtures.py",
        "versions": versions(),
        "version": int(reader.fields["GGUF.version"].contents()),
        "alignment": int(reader.alignment),
        "metadata": metadata,
        "tensors": [{"name": t.name, "type": t.tensor_type.name, "shape": [int(n) for n in reversed(t.shape)]}
                    for t in reader.tensors],
    }
    with open(os.path.join(OUT, "types.expected.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def make_smollm2(path):
    reader = gguf.GGUFReader(path)
    by_name = {t.name: t for t in reader.tensors}
    out = {"made_by": "tools/make_gguf_fixtures.py --smollm2", "versions": versions(),
           "file": os.path.basename(path), "tensor_count": len(reader.tensors), "tensors": []}
    meta_keys = ["general.architecture", "llama.block_count", "llama.embedding_length", "llama.feed_forward_length",
                 "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
                 "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size", "tokenizer.ggml.model",
                 "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"]
    out["metadata"] = {k: field_value(reader.fields[k]) for k in meta_keys}
    out["array_sizes"] = {k: len(reader.fields[k].data) for k in
                          ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"]}
    out["first_tokens"] = field_value(reader.fields["tokenizer.ggml.tokens"])[:8]
    for name in ["blk.0.attn_q.weight", "token_embd.weight", "blk.0.attn_norm.weight"]:
        t = by_name[name]
        values = dequantized(t)
        flat = values.reshape(-1)
        # The first 64 elements (two Q4_1 / Q8_0 blocks) and 256 spread over the whole tensor.
        idx = np.unique(np.concatenate([np.arange(64), np.linspace(0, flat.size - 1, 256).astype(np.int64)]))
        idx = idx[:320]
        s1, s2 = checksums(values)
        out["tensors"].append({
            "name": name, "type": t.tensor_type.name, "shape": list(values.shape),
            "indices": idx.tolist(), "bits": flat[idx].view(np.uint32).tolist(),
            "bits_sum": s1, "bits_weighted_sum": s2})
    with open(os.path.join(OUT, "smollm2.expected.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smollm2", help="SmolLM2-135M-Instruct.Q4_1.gguf (tools/fetch_smollm2.sh prints its path)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261206)
    make_expected(make_types(rng))
    if args.smollm2:
        make_smollm2(args.smollm2)
    print("wrote", os.path.normpath(OUT), versions(), file=sys.stderr)


if __name__ == "__main__":
    main()
