#!/usr/bin/env python3
"""No #include goes up the layer order (docs/design.md section 1).

The linker refuses a call that goes up the order (each layer is a shared library linked with
--no-undefined); this check covers what the linker cannot see: an upward #include of a header
whose code is all inline. Prints every offending line and exits 1 if there is one.
"""
import pathlib
import re
import sys

ORDER = ["core", "kernels", "autograd", "nn", "models", "optim", "experiments"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
bad = []
checked = 0
for layer_index, layer in enumerate(ORDER):
    for path in sorted((root / layer).rglob("*")):
        if path.suffix not in {".h", ".cpp", ".cu", ".cuh", ".inc"}:
            continue
        checked += 1
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1) in ORDER and ORDER.index(m.group(1)) > layer_index:
                bad.append(f"{path.relative_to(root)}:{number}: {layer}/ includes {m.group(1)}/, "
                           f"which comes after it in the order {' -> '.join(ORDER)}")
if checked == 0:
    sys.exit(f"no sources found under {root}")
for b in bad:
    print(b)
print(f"{checked} files checked, {len(bad)} upward includes")
sys.exit(1 if bad else 0)
