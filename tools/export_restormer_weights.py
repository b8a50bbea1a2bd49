#!/usr/bin/python3
"""Export an official Restormer checkpoint (swz30/Restormer, e.g. motion_deblurring.pth or
gaussian_gray_denoising_sigma25.pth) as a safetensors file for FreRec-Bench
(framework/io/safetensors.h; models/restoration/weights.h): keys unchanged
("encoder_level1.0.attn.qkv.weight", ...), float32 (int64 for integer buffers), metadata
format "frerec-weights-2" and the source checkpoint.

Run it with your own PyTorch (it needs torch and numpy; not the `safetensors` package —
the format is written by tools/export_torchvision_weights.py's write_safetensors):
    /usr/bin/python3 tools/export_restormer_weights.py CHECKPOINT.pth OUT.safetensors [--key params]
The official checkpoints store the weights under "params"; a plain state dict works too.
Then: `dae.init_weights: OUT.safetensors` (matching keys initialise the auto-encoder), or
load into the `restormer` model (all keys must match; grayscale checkpoints need
in_channels: 1). Files this script wrote before (HDF5, .h5) still load.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torchvision_weights import write_safetensors  # noqa: E402


def extract_state(checkpoint, key):
    if isinstance(checkpoint, dict) and key in checkpoint and isinstance(checkpoint[key], dict):
        return checkpoint[key]
    if isinstance(checkpoint, dict) and all(torch.is_tensor(v) for v in checkpoint.values()):
        return checkpoint
    found = ", ".join(sorted(checkpoint.keys())) if isinstance(checkpoint, dict) else type(checkpoint).__name__
    sys.exit(f"export_restormer_weights: no state dict under '{key}' (found: {found}); pass --key")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="official Restormer .pth file")
    parser.add_argument("output", help="safetensors file to write")
    parser.add_argument("--key", default="params", help="dictionary key holding the weights (default: params)")
    args = parser.parse_args()

    checkpoint = torch.load(args.checkpoint, map_location="cpu")
    state = extract_state(checkpoint, args.key)
    write_safetensors(args.output, state, {"format": "frerec-weights-2", "source": args.checkpoint})
    total = sum(int(t.numel()) for t in state.values())
    print(f"wrote {len(state)} tensors ({total} values) to {args.output}")


if __name__ == "__main__":
    main()
