"""The core package imports no Streamlit (only mcnnseq.ui may)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import mcnnseq

ROOT = Path(__file__).resolve().parents[1]


def test_core_imports_no_streamlit():
    core = sorted(m.name for m in pkgutil.walk_packages(mcnnseq.__path__, "mcnnseq.")
                  if not m.name.startswith("mcnnseq.ui") and m.name != "mcnnseq.__main__")
    assert "mcnnseq.models.mcnn_seq" in core and "mcnnseq.io" in core
    code = "import sys\n" + "".join(f"import {name}\n" for name in core) + \
        "bad = [m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')]\nprint(bad)\n" \
        "raise SystemExit(1 if bad else 0)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plain_import_is_light():
    code = "import sys, mcnnseq; print('torch' in sys.modules, 'streamlit' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.split() == ["False", "False"], proc.stderr
