#!/usr/bin/env python3
"""Re-creates the Restormer golden cases (README.md beside this file) from the official code.

Usage: /usr/bin/python3 make_restormer_golden.py PATH/TO/restormer_arch.py [OUT_DIR]
PATH/TO/restormer_arch.py is the official swz30/Restormer file
basicsr/models/archs/restormer_arch.py (commit df766d5); it is imported, not copied.
Needs Debian's python3-torch, python3-h5py, python3-einops is NOT needed: the official file
imports einops only for `rearrange`, so a minimal stand-in is installed when einops is absent.
"""
import importlib.util
import json
import sys
import types

import h5py
import torch

CASES = {
    "tiny_gray_withbias": dict(inp_channels=1, out_channels=1, dim=8, num_blocks=[1, 1, 1, 1],
                               num_refinement_blocks=1, heads=[1, 2, 4, 8], ffn_expansion_factor=2.66,
                               bias=False, LayerNorm_type="WithBias"),
    "tiny_rgb_biasfree": dict(inp_channels=3, out_channels=3, dim=8, num_blocks=[1, 2, 1, 1],
                              num_refinement_blocks=2, heads=[1, 2, 4, 8], ffn_expansion_factor=2.66,
                              bias=True, LayerNorm_type="BiasFree"),
}


def einops_stand_in():
    """`rearrange` for the patterns restormer_arch.py uses (b c h w <-> b (h w) c, heads)."""
    try:
        import einops  # noqa: F401
        return
    except ImportError:
        pass

    def rearrange(x, pattern, **sizes):
        if pattern == "b c h w -> b (h w) c":
            b, c, h, w = x.shape
            return x.reshape(b, c, h * w).transpose(1, 2)
        if pattern == "b (h w) c -> b c h w":
            b, _, c = x.shape
            return x.transpose(1, 2).reshape(b, c, sizes["h"], sizes["w"])
        if pattern == "b (head c) h w -> b head c (h w)":
            b, hc, h, w = x.shape
            return x.reshape(b, sizes["head"], hc // sizes["head"], h * w)
        if pattern == "b head c (h w) -> b (head c) h w":
            b, head, c, _ = x.shape
            return x.reshape(b, head * c, sizes["h"], sizes["w"])
        raise ValueError(pattern)

    module = types.ModuleType("einops")
    module.rearrange = rearrange
    sys.modules["einops"] = module


def main():
    arch_path = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else "."
    einops_stand_in()
    spec = importlib.util.spec_from_file_location("restormer_arch", arch_path)
    arch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(arch)
    for name, constructor in CASES.items():
        torch.manual_seed(11)
        net = arch.Restormer(**constructor)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.02 * torch.randn_like(p))
        net.eval()
        generator = torch.Generator().manual_seed(5)
        x = torch.rand(2, constructor["inp_channels"], 48, 40, generator=generator)
        with torch.no_grad():
            y = net(x)
        with h5py.File(f"{out_dir}/{name}.weights.h5", "w") as f:
            f.attrs["format"] = "frerec-weights-1"
            f.attrs["source"] = "official restormer_arch.py, seeded random weights"
            for key, value in net.state_dict().items():
                f.create_dataset(key, data=value.numpy())
        with h5py.File(f"{out_dir}/{name}.io.h5", "w") as f:
            f.create_dataset("input", data=x.numpy())
            f.create_dataset("output", data=y.numpy())
            f.attrs["constructor"] = json.dumps(constructor)
            f.attrs["parameters"] = sum(p.numel() for p in net.parameters())


if __name__ == "__main__":
    main()
