"""What the bench scripts that drive squish's CLI share: where the binary is, running one of its
commands (echoed to stderr, failing loudly) and reading the JSON it writes."""
import json
import os
import subprocess
import sys

SQUISH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "squish")


def run(args, **kw):
    print("+", " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(args, check=True, **kw)


def load(path):
    with open(path) as f:
        return json.load(f)
