#!/usr/bin/python3
"""Difficulty check of the embedded demo tasks.

Trains a small CNN on the exported real train split (400 images per class) of each demo
task and reports the test AUC (300 + 300 images). Run from the repository root:

    build/<dir>/bench/datasets/datasets_demo_export /tmp/demo_export 64 400
    /usr/bin/python3 tools/demo_difficulty.py /tmp/demo_export

Independent of the C++ framework: reads the PNG folders + manifest.csv written by
export_task, uses PyTorch and scikit-learn only. Seeded; CPU; a few minutes per task on 2 busy cores.
"""
import csv
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score


def load(root: Path, split: str):
    images, labels = [], []
    with open(root / "manifest.csv") as f:
        for row in csv.DictReader(f):
            if row["split"] != split:
                continue
            a = np.asarray(Image.open(root / row["path"]), dtype=np.float32) / 255.0
            images.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
            labels.append(int(row["label"]))
    return torch.tensor(np.stack(images)), torch.tensor(labels, dtype=torch.float32)


def small_cnn(channels: int) -> torch.nn.Module:
    def block(i, o):
        return [torch.nn.Conv2d(i, o, 3, padding=1), torch.nn.BatchNorm2d(o), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
    return torch.nn.Sequential(*block(channels, 8), *block(8, 16), *block(16, 32),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 1))


def run(root: Path, epochs: int = 15, seed: int = 0) -> float:
    torch.manual_seed(seed)
    x_train, y_train = load(root, "train")
    x_test, y_test = load(root, "test")
    model = small_cnn(x_train.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for b in range(0, len(order), 32):
            idx = order[b:b + 32]
            xb = x_train[idx]
            if torch.rand(1, generator=generator).item() < 0.5:
                xb = xb.flip(3)
            optimizer.zero_grad()
            loss_fn(model(xb).squeeze(1), y_train[idx]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        scores = torch.cat([model(x_test[b:b + 128]).squeeze(1) for b in range(0, len(x_test), 128)])
    return roc_auc_score(y_test.numpy(), scores.numpy()), len(x_train), len(x_test)


if __name__ == "__main__":
    torch.set_num_threads(2)
    base = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/demo_export")
    tasks = sys.argv[2:] or ["demo_mri", "demo_cxr", "demo_fundus"]
    for task in tasks:
        auc, n_train, n_test = run(base / task)
        print(f"{task}: small CNN, {n_train} train / {n_test} test images, test AUC = {auc:.3f}", flush=True)
