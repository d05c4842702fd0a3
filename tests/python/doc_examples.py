"""doc_examples.py - every ```python block of docs/python.md run in order
in one namespace from the repository root (DIR: a fresh directory); the
blocks marked ```python torch only where torch is importable (else skipped
with a message).  The build's tools are build/...: BUILD_DIR (argv[1])
replaces "build/" in the blocks.  Exits non-zero on any failure."""
import os
import re
import sys
import tempfile

build = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build"
src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.chdir(src)
sys.path.insert(0, os.path.join(src, "python"))
text = open(os.path.join(src, "docs", "python.md")).read()
blocks = re.findall(r"^```python( torch)?\n(.*?)^```$", text, re.M | re.S)
try:
    import torch  # noqa: F401
    have_torch = True
except ImportError:
    have_torch = False
with tempfile.TemporaryDirectory() as tmp:
    ns = {"DIR": os.path.join(tmp, "run")}
    for i, (torch_block, code) in enumerate(blocks):
        if torch_block and not have_torch:
            print("SKIP block %d: torch is not installed" % (i + 1))
            continue
        code = code.replace('"build/', '"%s/' % build)
        print("block %d" % (i + 1))
        exec(compile(code, "docs/python.md block %d" % (i + 1), "exec"), ns)
if len(blocks) < 5:
    sys.exit("FAIL: docs/python.md has %d python blocks, expected 5" % len(blocks))
print("ok: %d blocks of docs/python.md ran" % len(blocks))
