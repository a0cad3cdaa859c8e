"""Reference trajectories of torch.optim's SGD (momentum), Adam (L2 decay) and AdamW (decoupled
decay) for tests/fixtures/optim.safetensors: initial parameters p0 [2, 3], three fixed gradients
g1..g3, and the parameters after each step, for two parameter groups with their own learning rates
and decay (group 0: the first row, lr 0.1, wd 0.01; group 1: the second row, lr 0.02, wd 0).
Rerun with  /usr/bin/python3 tests/reference/make_optim_fixtures.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_llama_fixtures import OUT_DIR, write_safetensors  # noqa: E402

F64 = torch.float64


def main():
    torch.manual_seed(3)
    p0 = torch.randn(2, 3, dtype=F64)
    grads = [torch.randn(2, 3, dtype=F64) for _ in range(3)]
    entries = [("p0", p0.float()), *((f"g{i + 1}", g.float()) for i, g in enumerate(grads))]
    p0 = p0.float().to(F64)
    grads = [g.float().to(F64) for g in grads]
    makers = {
        "sgd": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9),
        "adam": lambda groups: torch.optim.Adam(groups, lr=0.1, betas=(0.9, 0.999), eps=1e-8),
        "adamw": lambda groups: torch.optim.AdamW(groups, lr=0.1, betas=(0.9, 0.999), eps=1e-8),
    }
    for name, make in makers.items():
        rows = [p0[0].clone().requires_grad_(True), p0[1].clone().requires_grad_(True)]
        opt = make([{"params": [rows[0]], "lr": 0.1, "weight_decay": 0.01},
                    {"params": [rows[1]], "lr": 0.02, "weight_decay": 0.0}])
        for i, g in enumerate(grads):
            rows[0].grad, rows[1].grad = g[0].clone(), g[1].clone()
            opt.step()
            entries.append((f"{name}.step{i + 1}", torch.stack([rows[0].detach(), rows[1].detach()]).float()))
    write_safetensors(os.path.join(OUT_DIR, "optim.safetensors"), entries,
                      {"generator": "tests/reference/make_optim_fixtures.py", "torch": torch.__version__})
    print("wrote tests/fixtures/optim.safetensors")


if __name__ == "__main__":
    main()
