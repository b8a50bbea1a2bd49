#!/usr/bin/env python3
"""Export a torchvision classifier's state dict as a safetensors file for FreRec-Bench.

The C++ side (models/classifiers/weights.h) loads the file without Python: first conv
adapted to the configured in_channels, head re-initialised for another num_classes, ViT
position embeddings resized for another image/patch size, DenseNet legacy names remapped.

Usage (with your own PyTorch + torchvision):
  python3 tools/export_torchvision_weights.py resnet50 weights/resnet50.safetensors
      downloads torchvision's DEFAULT ImageNet weights (needs network access once)
  python3 tools/export_torchvision_weights.py densenet121 out.safetensors --checkpoint densenet121-a639ec97.pth
      converts a .pth state dict you already have (legacy DenseNet names are kept as they
      are; the C++ loader remaps them exactly as torchvision does)
  python3 tools/export_torchvision_weights.py vit_b_16 out.safetensors --random-seed 0
      randomly initialised weights (for testing)

The format is written by hand (no `safetensors` package needed): 8-byte little-endian
header length, a JSON header {key: {dtype, shape, data_offsets}}, then the raw
little-endian bytes. Floating tensors are stored as F32, integer ones as I64.
"""
import argparse
import json
import struct
import sys


def write_safetensors(path, state_dict, metadata=None):
    """Writes an ordered mapping name -> torch.Tensor (or numpy array) as safetensors."""
    import numpy as np

    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for key, value in state_dict.items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        # np.array(copy) keeps 0-d tensors 0-d (np.ascontiguousarray would make them 1-d).
        if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
            array, dtype = np.array(array, dtype="<i8", order="C"), "I64"
        else:
            array, dtype = np.array(array, dtype="<f4", order="C"), "F32"
        data = array.tobytes()
        header[key] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode("utf-8"))
        for data in blobs:
            f.write(data)
    import os
    os.replace(tmp, path)


def read_safetensors(path):
    """Reads a file written by write_safetensors into an ordered dict of numpy arrays."""
    import numpy as np

    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[entry["dtype"]]
        out[key] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="torchvision model name: resnet18, resnet50, densenet121, vit_b_16, ...")
    parser.add_argument("output", help="output .safetensors path")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--weights", default="DEFAULT", help="torchvision weights enum name (default: DEFAULT)")
    source.add_argument("--checkpoint", help="a .pth state dict to convert instead of downloading")
    source.add_argument("--random-seed", type=int, help="export a randomly initialised model (torch.manual_seed)")
    args = parser.parse_args(argv)

    import torch
    import torchvision

    builder = getattr(torchvision.models, args.model, None)
    if builder is None or not callable(builder):
        sys.exit(f"export: unknown torchvision model '{args.model}'")
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        source = args.checkpoint
    elif args.random_seed is not None:
        torch.manual_seed(args.random_seed)
        state = builder(weights=None).state_dict()
        source = f"random (seed {args.random_seed})"
    else:
        state = builder(weights=args.weights).state_dict()
        source = f"torchvision weights {args.weights}"
    metadata = {"model": args.model, "source": source, "torchvision": torchvision.__version__}
    write_safetensors(args.output, state, metadata)
    count = sum(v.numel() for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    print(f"wrote {args.output}: {len(state)} tensors, {count:,} parameters, from {source}")


if __name__ == "__main__":
    main()
