#!/usr/bin/env python3
"""Golden values for models/generators/spectral_norm: PyTorch's own
torch.nn.utils.spectral_norm (dim=0, eps=1e-12) on deterministic weights and power-iteration
vectors, two training-mode forward passes, then one eval-mode pass.

Run with the Debian interpreter that sees python3-torch:
    /usr/bin/python3 tests/golden/generators/make_spectral_norm_golden.py
Writes spectral_norm.json next to this script.
"""
import json
import math
import os

import torch


def fill(n, a, b, scale):
    return torch.tensor([scale * math.sin(a * i + b) for i in range(n)], dtype=torch.float64)


def case(name, module, n_power_iterations):
    torch.nn.utils.spectral_norm(module, n_power_iterations=n_power_iterations)
    w = module.weight_orig
    rows = w.shape[0]
    cols = w.numel() // rows
    with torch.no_grad():
        w.copy_(fill(w.numel(), 0.37, 0.1, 0.5).reshape(w.shape).to(w.dtype))
        u = fill(rows, 0.91, 0.3, 1.0)
        v = fill(cols, 1.3, 0.2, 1.0)
        module.weight_u.copy_((u / u.norm()).to(w.dtype))
        module.weight_v.copy_((v / v.norm()).to(w.dtype))
    out = {"name": name, "shape": list(w.shape), "power_iterations": n_power_iterations,
           "weight_orig": w.detach().reshape(-1).tolist(),
           "u0": module.weight_u.tolist(), "v0": module.weight_v.tolist(), "steps": []}
    module.train()
    x = torch.zeros((1,) + ((w.shape[1], 5, 5) if w.dim() == 4 else (w.shape[1],)), dtype=w.dtype)
    for _ in range(2):
        module(x)
        out["steps"].append({"weight": module.weight.detach().reshape(-1).tolist(),
                             "u": module.weight_u.tolist(), "v": module.weight_v.tolist()})
    module.eval()
    module(x)
    out["eval_weight"] = module.weight.detach().reshape(-1).tolist()
    out["largest_singular_value"] = float(torch.linalg.svdvals(w.detach().reshape(rows, -1).double())[0])
    return out


def main():
    torch.manual_seed(0)
    cases = [
        case("conv_4x3x3x3_1iter", torch.nn.Conv2d(3, 4, 3, bias=False).double(), 1),
        case("linear_5x7_3iter", torch.nn.Linear(7, 5, bias=False).double(), 3),
    ]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spectral_norm.json")
    with open(path, "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
