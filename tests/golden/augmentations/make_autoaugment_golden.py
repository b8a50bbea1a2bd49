#!/usr/bin/python3
"""Golden fixtures for augmentations/core/autoaugment (run with Debian's /usr/bin/python3,
python3-torchvision 0.14). Writes, next to this script:
  autoaugment_ops.json  inputs (uint8 lists), the case index, torchvision's policy tables
                        and magnitude tables;
  autoaugment_ops.bin   the uint8 outputs of every case, concatenated in index order.
Every case runs torchvision.transforms.autoaugment._apply_op (the code path AutoAugment
uses: nearest interpolation, fill None) on a uint8 tensor with the signed magnitude
AutoAugment would use for that bin."""
import json
import os

import numpy as np
import torch
import torchvision
from torchvision.transforms import InterpolationMode
from torchvision.transforms.autoaugment import AutoAugment, AutoAugmentPolicy, _apply_op

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240607)


def structured(c, h, w, lo, hi):
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    base = lo + (hi - lo) * (0.5 + 0.5 * np.sin(xx / 2.3 + c) * np.cos(yy / 3.1 - c))
    noise = rng.integers(-20, 21, size=(h, w))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


inputs = []
inputs.append(np.stack([structured(0, 16, 16, 40, 210)]))                       # 1×16×16
inputs.append(np.stack([structured(c, 16, 12, 10 + 20 * c, 230 - 15 * c) for c in range(3)]))  # 3×16×12
few = np.full((1, 9, 7), 120, np.uint8)                                          # 1×9×7, few levels
few[0, 2:5, 1:4] = 121
few[0, 7, 6] = 250
inputs.append(few)
flat = np.stack([structured(0, 8, 10, 0, 255), np.full((8, 10), 77, np.uint8), structured(2, 8, 10, 100, 140)])
inputs.append(flat)                                                              # 3×8×10, a constant channel

signed_bins = {
    "ShearX": [3, 5, 9], "ShearY": [3, 5, 9], "TranslateX": [2, 5, 9], "TranslateY": [2, 5, 9],
    "Rotate": [1, 3, 8, 9], "Brightness": [0, 2, 4, 8, 9], "Color": [0, 2, 4, 8, 9],
    "Contrast": [0, 2, 4, 8, 9], "Sharpness": [0, 2, 4, 7, 9],
}
unsigned_bins = {"Posterize": [0, 2, 4, 6, 9], "Solarize": [0, 3, 5, 8, 9],
                 "AutoContrast": [None], "Equalize": [None], "Invert": [None]}

aa = AutoAugment()
cases = []
blob = bytearray()
for image_index, arr in enumerate(inputs):
    img = torch.from_numpy(arr.copy())
    c, h, w = arr.shape
    space = aa._augmentation_space(10, (h, w))
    for op, bins in list(signed_bins.items()) + list(unsigned_bins.items()):
        magnitudes, signed = space[op]
        for b in bins:
            for negative in ([False, True] if signed else [False]):
                magnitude = float(magnitudes[b].item()) if b is not None else 0.0
                if negative:
                    magnitude *= -1.0
                out = _apply_op(img, op, magnitude, interpolation=InterpolationMode.NEAREST, fill=None)
                assert out.dtype == torch.uint8 and tuple(out.shape) == arr.shape
                cases.append({"image": image_index, "op": op, "bin": -1 if b is None else b,
                              "negative": negative, "magnitude": magnitude, "offset": len(blob)})
                blob += out.numpy().tobytes()


def table(policy):
    return [[[name, p, -1 if m is None else m] for (name, p, m) in sub] for sub in aa._get_policies(policy)]


magnitude_tables = {}
for (h, w) in [(16, 16), (16, 12), (9, 7), (8, 10), (224, 224)]:
    space = aa._augmentation_space(10, (h, w))
    magnitude_tables[f"{h}x{w}"] = {op: [float(v) for v in space[op][0].reshape(-1).tolist()]
                                    for op in space if space[op][0].numel() == 10}

doc = {
    "made_by": f"make_autoaugment_golden.py, torch {torch.__version__}, torchvision {torchvision.__version__}",
    "inputs": [{"shape": list(a.shape), "data": a.reshape(-1).tolist()} for a in inputs],
    "cases": cases,
    "policies": {p.value: table(p) for p in AutoAugmentPolicy},
    "magnitudes": magnitude_tables,
}
with open(os.path.join(here, "autoaugment_ops.json"), "w") as f:
    json.dump(doc, f, separators=(",", ":"))
with open(os.path.join(here, "autoaugment_ops.bin"), "wb") as f:
    f.write(bytes(blob))
print(len(cases), "cases,", len(blob), "output bytes")
