#!/usr/bin/env python3
"""Writes the small checkpoint fixtures under tests/fixtures/checkpoints/ that the C++ readers are tested on.

Made with torch 2.15.0 and safetensors 0.8.0 (the versions pip-installed where squish is developed); the
script refuses other versions unless --any-version is given, since the byte layout of torch.save can change.
Only real library output lives here; hostile files are built byte by byte in the C++ tests instead.

  views_p2.pt / views_p4.pt   torch zip checkpoints (pickle protocol 2, torch's default, and 4, which adds
                              FRAME / MEMOIZE / SHORT_BINUNICODE / STACK_GLOBAL) holding dtypes F32, F16, BF16,
                              I64, BOOL, a transpose, slices with storage offsets, tensors sharing one storage,
                              an nn.Parameter, an empty and a 0-d tensor, and OrderedDict `_metadata` (BUILD)
  views_deflated.pt           views_p2.pt re-zipped with every record deflated (torch itself stores them)
  views_expected.safetensors  the same tensors made contiguous: what every views_*.pt must read as
  dtypes.safetensors          one tensor of each safetensors dtype squish accepts, plus __metadata__
  legacy.pt                   torch.save(..., _use_new_zipfile_serialization=False): must be refused

Usage: python3 tools/make_checkpoint_fixtures.py [--any-version]   (from the repository root)
"""
import collections
import os
import sys
import zipfile

import safetensors
import torch
from safetensors.torch import save_file

TORCH_VERSION = "2.15.0"
SAFETENSORS_VERSION = "0.8.0"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "checkpoints")


def views():
    base = torch.arange(10, dtype=torch.float32)
    grid = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd = collections.OrderedDict()
    sd["f32"] = torch.tensor([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]])
    sd["f16"] = torch.tensor([1.0, -0.5, 65504.0, 6e-8], dtype=torch.float16)
    sd["bf16"] = torch.tensor([[1.0, -3.0e38], [0.015625, 7.0]], dtype=torch.bfloat16)
    sd["i64"] = torch.tensor([-1, 2**40, 7], dtype=torch.int64)
    sd["bool"] = torch.tensor([True, False])
    sd["base"] = base                      # shares its storage with "slice"
    sd["slice"] = base[3:7]                # storage offset 3, contiguous
    sd["transposed"] = grid.t()            # stride (1, 4): gathered
    sd["column"] = grid[:, 1]              # storage offset 1, stride (4,): gathered
    sd["param"] = torch.nn.Parameter(torch.tensor([0.25, 0.5]))  # _rebuild_parameter
    sd["empty"] = torch.zeros(0, 4)
    sd["scalar"] = torch.tensor(3.5)
    sd._metadata = collections.OrderedDict({"": {"version": 1}})  # as Module.state_dict() sets it
    return sd


def main():
    if "--any-version" not in sys.argv and (
        torch.__version__.split("+")[0] != TORCH_VERSION or safetensors.__version__ != SAFETENSORS_VERSION
    ):
        sys.exit(f"expected torch {TORCH_VERSION} and safetensors {SAFETENSORS_VERSION}, found "
                 f"{torch.__version__} and {safetensors.__version__} (pass --any-version to go on anyway)")
    os.makedirs(OUT, exist_ok=True)
    sd = views()
    torch.save(sd, os.path.join(OUT, "views_p2.pt"))
    torch.save(sd, os.path.join(OUT, "views_p4.pt"), pickle_protocol=4)
    with zipfile.ZipFile(os.path.join(OUT, "views_p2.pt")) as src, zipfile.ZipFile(
        os.path.join(OUT, "views_deflated.pt"), "w", compression=zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace("views_p2/", "views_deflated/", 1), src.read(info))
    expected = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    save_file(expected, os.path.join(OUT, "views_expected.safetensors"))

    dtypes = {
        "f32": torch.tensor([1.0, -2.5]),
        "f16": torch.tensor([[1.0, -2.0, 0.5], [65504.0, -0.0, 6e-8]], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.0e38, 0.015625], dtype=torch.bfloat16),
        "f64": torch.tensor([1.0 / 3.0], dtype=torch.float64),
        "i64": torch.tensor([-(2**62), 5], dtype=torch.int64),
        "i32": torch.tensor([-7, 2**31 - 1], dtype=torch.int32),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }
    save_file(dtypes, os.path.join(OUT, "dtypes.safetensors"), metadata={"format": "pt", "note": "squish fixture"})

    torch.save({"w": torch.tensor([1.0, 2.0])}, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)

    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
