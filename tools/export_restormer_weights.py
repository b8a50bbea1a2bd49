#!/usr/bin/python3
"""Export an official Restormer checkpoint (swz30/Restormer, e.g. motion_deblurring.pth or
gaussian_gray_denoising_sigma25.pth) to the simple HDF5 weight format FreRec-Bench reads
(models/restoration/weights.h): one dataset per state-dict key at the file root, float32
(int64 for integer buffers), keys unchanged ("encoder_level1.0.attn.qkv.weight", ...).

Run it with your own PyTorch (it only needs torch, numpy and h5py):
    /usr/bin/python3 tools/export_restormer_weights.py CHECKPOINT.pth OUT.h5 [--key params]
The official checkpoints store the weights under "params"; a plain state dict works too.
Then: `dae.init_weights: OUT.h5` (matching keys initialise the auto-encoder), or load into
the `restormer` model (all keys must match; grayscale checkpoints need in_channels: 1).
"""
import argparse
import sys

import h5py
import numpy as np
import torch


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
    parser.add_argument("output", help="HDF5 file to write")
    parser.add_argument("--key", default="params", help="dictionary key holding the weights (default: params)")
    args = parser.parse_args()

    checkpoint = torch.load(args.checkpoint, map_location="cpu")
    state = extract_state(checkpoint, args.key)
    with h5py.File(args.output, "w") as out:
        out.attrs["source"] = args.checkpoint
        out.attrs["format"] = "frerec-weights-1"
        for name, tensor in state.items():
            if "/" in name:
                sys.exit(f"export_restormer_weights: key '{name}' contains '/', which HDF5 cannot store")
            array = tensor.detach().cpu().numpy()
            array = array.astype(np.int64) if np.issubdtype(array.dtype, np.integer) else array.astype(np.float32)
            out.create_dataset(name, data=array)
    total = sum(int(t.numel()) for t in state.values())
    print(f"wrote {len(state)} tensors ({total} values) to {args.output}")


if __name__ == "__main__":
    main()
