#!/usr/bin/env python3
"""Exports the CNN that ImageEmbedBenchmark times: an ImageNet-shaped feature extractor (224 x 224 RGB in,
a 256-dimensional pooled feature out), random weights (the benchmark measures speed, not quality).

Shape: a stride-2 7x7 stem (32 channels), max pool, four stages of two 3x3 conv + BN + ReLU blocks (32, 64,
128, 256 channels, stride 2 from the second stage on), global average pool: about 1.2 M parameters and
0.5 GFLOP (about 0.25 G multiply-adds) per image, a small ResNet. BatchNorm is folded into the convolutions at export (eval mode).

Writes jmh/src/main/resources/bench-cnn-224.onnx. Needs Debian's python3-torch.
Usage: /usr/bin/python3 models/tools/make_bench_cnn.py
"""
import os

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "jmh", "src", "main", "resources", "bench-cnn-224.onnx")


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def main():
    torch.manual_seed(224)
    net = nn.Sequential(nn.Conv2d(3, 32, 7, 2, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                        block(32, 32, 1), block(32, 64, 2), block(64, 128, 2), block(128, 256, 2),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    params = sum(p.numel() for p in net.parameters())
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.onnx.export(net, torch.zeros(2, 3, 224, 224), OUT, input_names=["pixel_values"], output_names=["features"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "features": {0: "batch"}}, opset_version=13)
    print(f"wrote {OUT}: {params} parameters, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
