#!/usr/bin/python3
"""Golden fixtures for tests/models, made with Debian's python3-torch / python3-torchvision.

Run from the repository root:  /usr/bin/python3 tests/golden/models/make_golden.py

Writes (all small):
  state_dicts.txt      for each architecture: "# name in_channels num_classes parameters"
                       then one "key shape" line per state-dict entry, in state_dict() order
  logits.json          logits of torchvision models whose every parameter and buffer was
                       set by the deterministic fill below, on a deterministic input
  tiny_densenet_legacy.safetensors, tiny_vit.safetensors and their expectations in
                       loading.json (legacy DenseNet names, RGB -> grey first conv, ViT
                       position embedding resize), written with tools/export_torchvision_weights.py

Deterministic fill (reproduced by tests/models/deterministic_fill.cpp):
  splitmix64(z) = the standard SplitMix64 finaliser of z + 0x9E3779B97F4A7C15
  u(seed, t, i) = (splitmix64(seed << 48 | t << 32 | i) >> 40) / 2^23 - 1   in [-1, 1)
  where t is the tensor's index in state_dict() order and i the flat element index.
  value = 0 for num_batches_tracked; 1 + 0.5u for running_var; 0.1u for running_mean;
  1 + 0.1u for other 1-D "weight"s (norm scales); 0.1u for other 1-D tensors (biases);
  0.02u for class_token / pos_embedding; u * sqrt(3 / fan_in) otherwise (fan_in =
  numel / shape[0]), computed in float64 and rounded to float32.
  The input uses t = 0xFFFF and value (u + 1) / 2.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_torchvision_weights import write_safetensors  # noqa: E402

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(z):
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(seed, t, n):
    base = (np.uint64(seed) << np.uint64(48)) | (np.uint64(t) << np.uint64(32))
    z = splitmix64(base + np.arange(n, dtype=np.uint64))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 23) - 1.0


def fill_value(name, shape, u):
    if name.endswith("num_batches_tracked"):
        return np.zeros_like(u)
    if name.endswith("running_var"):
        return 1.0 + 0.5 * u
    if name.endswith("running_mean"):
        return 0.1 * u
    if len(shape) == 1 and name.endswith("weight"):
        return 1.0 + 0.1 * u
    if len(shape) == 1:
        return 0.1 * u
    if name.endswith("class_token") or name.endswith("pos_embedding"):
        return 0.02 * u
    fan_in = int(np.prod(shape)) // shape[0]
    return u * math.sqrt(3.0 / fan_in)


def deterministic_fill(model, seed):
    with torch.no_grad():
        for t, (name, tensor) in enumerate(model.state_dict().items()):
            values = fill_value(name, tuple(tensor.shape), uniform(seed, t, tensor.numel()))
            tensor.copy_(torch.from_numpy(values.astype(np.float32).reshape(tuple(tensor.shape))))


def deterministic_input(seed, shape):
    u = uniform(seed, 0xFFFF, int(np.prod(shape)))
    return torch.from_numpy(((u + 1.0) / 2.0).astype(np.float32).reshape(shape))


def vit(image_size, patch_size, layers, heads, hidden, mlp, num_classes=1000):
    return VisionTransformer(image_size=image_size, patch_size=patch_size, num_layers=layers, num_heads=heads,
                             hidden_dim=hidden, mlp_dim=mlp, num_classes=num_classes)


def densenet_small(num_classes=1000):
    return torchvision.models.DenseNet(growth_rate=12, block_config=(4, 8, 12, 8), num_init_features=64,
                                       num_classes=num_classes)


ARCHS = {
    "resnet18": lambda nc=1000: torchvision.models.resnet18(num_classes=nc),
    "resnet50": lambda nc=1000: torchvision.models.resnet50(num_classes=nc),
    "densenet121": lambda nc=1000: torchvision.models.densenet121(num_classes=nc),
    "densenet_small": densenet_small,
    "vit_b_16": lambda nc=1000: torchvision.models.vit_b_16(num_classes=nc),
    "vit_tiny": lambda nc=1000: vit(64, 8, 12, 3, 192, 768, nc),
}


def write_state_dicts():
    lines = []
    for name, make in ARCHS.items():
        model = make()
        count = sum(p.numel() for p in model.parameters())
        lines.append(f"# {name} 3 1000 {count}")
        for key, tensor in model.state_dict().items():
            lines.append(f"{key} {','.join(str(s) for s in tensor.shape)}")
    with open(os.path.join(HERE, "state_dicts.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_logits():
    torch.set_num_threads(2)
    cases = [
        # name, constructor, C++ settings, input shape, fill seed
        ("resnet18", lambda: torchvision.models.resnet18(num_classes=5), {"num_classes": 5}, (2, 3, 64, 64), 1),
        ("resnet50", lambda: torchvision.models.resnet50(num_classes=5), {"num_classes": 5}, (2, 3, 64, 64), 2),
        ("densenet121", lambda: torchvision.models.densenet121(num_classes=5), {"num_classes": 5}, (2, 3, 64, 64), 3),
        ("densenet_small", lambda: densenet_small(5), {"num_classes": 5}, (2, 3, 64, 64), 4),
        ("vit_b_16", lambda: vit(32, 16, 12, 12, 768, 3072, 5), {"num_classes": 5, "image_size": 32, "patch_size": 16},
         (2, 3, 32, 32), 5),
        ("vit_tiny", lambda: vit(64, 8, 12, 3, 192, 768, 5), {"num_classes": 5, "image_size": 64, "patch_size": 8},
         (2, 3, 64, 64), 6),
    ]
    out = {}
    for name, make, settings, shape, seed in cases:
        model = make().eval()
        deterministic_fill(model, seed)
        x = deterministic_input(seed, shape)
        with torch.no_grad():
            logits = model(x)
        out[name] = {"settings": settings, "input_shape": list(shape), "seed": seed,
                     "logits": [round(float(v), 7) for v in logits.flatten()]}
        print(name, logits.abs().max().item())
    with open(os.path.join(HERE, "logits.json"), "w") as f:
        json.dump(out, f, indent=1)


def legacy_densenet_keys(state):
    out = {}
    for key, value in state.items():
        for part in ("norm1", "relu1", "conv1", "norm2", "relu2", "conv2"):
            key = key.replace("." + part + ".", "." + part[:-1] + "." + part[-1] + ".")
        out[key] = value
    return out


def write_loading():
    torch.manual_seed(0)
    expectations = {}
    # Tiny DenseNet with published-file (legacy) key names; random BN statistics.
    dn = torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                                     num_classes=3).eval()
    with torch.no_grad():
        for m in dn.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.8, 1.2)
                m.bias.uniform_(-0.1, 0.1)
    write_safetensors(os.path.join(HERE, "tiny_densenet_legacy.safetensors"), legacy_densenet_keys(dn.state_dict()),
                      {"model": "tiny densenet (growth 4, blocks (2,2), 8 init features, bn_size 2, 3 classes)"})
    x_rgb = deterministic_input(7, (2, 3, 32, 32))
    x_grey = deterministic_input(8, (2, 1, 32, 32))
    with torch.no_grad():
        logits_rgb = dn(x_rgb)
        # Grey model: conv0 kernels summed over the input channels; features before the head.
        grey = torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                                           num_classes=3).eval()
        state = dict(dn.state_dict())
        grey.features.conv0 = torch.nn.Conv2d(1, 8, kernel_size=7, stride=2, padding=3, bias=False)
        state["features.conv0.weight"] = state["features.conv0.weight"].sum(dim=1, keepdim=True)
        grey.load_state_dict(state)
        grey.classifier = torch.nn.Identity()
        features_grey = grey(x_grey)
    expectations["tiny_densenet"] = {
        "growth_rate": 4, "block_config": [2, 2], "num_init_features": 8, "bn_size": 2, "num_classes": 3,
        "input_seed_rgb": 7, "input_seed_grey": 8, "image_size": 32,
        "logits_rgb": [round(float(v), 7) for v in logits_rgb.flatten()],
        "features_grey": [round(float(v), 7) for v in features_grey.flatten()],
    }
    # Tiny ViT at 16x16 / patch 8; loaded into a 32x32 model with torchvision's interpolate_embeddings.
    tv = vit(16, 8, 1, 2, 8, 16, num_classes=3).eval()
    with torch.no_grad():
        for p in tv.parameters():
            p.uniform_(-0.5, 0.5)
    write_safetensors(os.path.join(HERE, "tiny_vit.safetensors"), tv.state_dict(),
                      {"model": "tiny vit (image 16, patch 8, 1 layer, 2 heads, hidden 8, mlp 16, 3 classes)"})
    x16 = deterministic_input(9, (2, 3, 16, 16))
    x32 = deterministic_input(10, (2, 3, 32, 32))
    vit_case = {"image_size": 16, "patch_size": 8, "num_layers": 1, "num_heads": 2, "hidden_dim": 8, "mlp_dim": 16,
                "num_classes": 3, "input_seed_16": 9, "input_seed_32": 10}
    with torch.no_grad():
        vit_case["logits_16"] = [round(float(v), 7) for v in tv(x16).flatten()]
        for mode in ("bilinear", "bicubic"):
            big = vit(32, 8, 1, 2, 8, 16, num_classes=3).eval()
            big.load_state_dict(interpolate_embeddings(32, 8, tv.state_dict(), interpolation_mode=mode))
            vit_case["logits_32_" + mode] = [round(float(v), 7) for v in big(x32).flatten()]
    expectations["tiny_vit"] = vit_case
    with open(os.path.join(HERE, "loading.json"), "w") as f:
        json.dump(expectations, f, indent=1)


if __name__ == "__main__":
    print("torch", torch.__version__, "torchvision", torchvision.__version__)
    write_state_dicts()
    write_logits()
    write_loading()
