#!/usr/bin/python3
"""Training throughput of torchvision classifiers from Python, for comparison with
bench/models (bench_models_train): images/s of one SGD step (forward, cross-entropy,
backward, SGD momentum 0.9) on a batch of random 3-channel images, 2 classes.

  /usr/bin/python3 tools/bench_torch_train.py                      # 64², batch 32, 2 threads
  /usr/bin/python3 tools/bench_torch_train.py --size 224 --models resnet18 resnet50 --steps 2

The models are built exactly as the C++ registry builds them (densenet_small and vit_tiny
with torchvision's DenseNet / VisionTransformer classes).
"""
import argparse
import time

import torch
import torchvision
from torchvision.models.vision_transformer import VisionTransformer


def build(name, size, num_classes=2):
    if name == "densenet_small":
        return torchvision.models.DenseNet(growth_rate=12, block_config=(4, 8, 12, 8), num_init_features=64,
                                           num_classes=num_classes)
    if name == "vit_tiny":
        return VisionTransformer(image_size=size, patch_size=8, num_layers=12, num_heads=3, hidden_dim=192,
                                 mlp_dim=768, num_classes=num_classes)
    if name == "vit_b_16":
        return torchvision.models.vit_b_16(image_size=size, num_classes=num_classes)
    return getattr(torchvision.models, name)(num_classes=num_classes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+",
                        default=["resnet18", "resnet50", "densenet121", "densenet_small", "vit_tiny", "vit_b_16"])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up step")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, {args.size}x{args.size}")
    for name in args.models:
        model = build(name, args.size).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.rand(args.batch, 3, args.size, args.size, generator=gen)
        y = torch.randint(0, 2, (args.batch,), generator=gen)

        def step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

        step()
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            step()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        images = args.batch * args.steps
        print(f"{name:16s} {args.size:4d}  {images / elapsed:8.1f} img/s  ({elapsed / args.steps * 1000:.0f} ms/step, "
              f"process CPU {cpu / args.steps * 1000:.0f} ms/step = {cpu / images * 1000:.1f} CPU-ms/img)")


if __name__ == "__main__":
    main()
