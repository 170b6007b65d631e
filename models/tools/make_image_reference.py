#!/usr/bin/env python3
"""Writes the image-preprocessing reference that ImagePreprocessorTest checks Latent against.

Makes a set of test images of different sizes and modes (RGB, L, RGBA, P, 16-bit grayscale, a JPEG, a
1x1 image), preprocesses each the way the reference vision preprocessors do (Pillow's Image.resize,
centre crop at floor((size - crop) / 2), rescale, per-channel mean/std, NCHW), and saves the tensors as
.npy files; it also exports a tiny convolutional ONNX model and the embeddings torch computes from those
tensors, so the test can compare embeddings as well as tensors.

Output: src/cli/test/resources/dev/latent/encode/image/ (images, reference-<config>.npy,
embeddings-clip.npy, tiny-cnn.onnx, reference.json). Needs Debian's python3-pil, python3-numpy and
python3-torch.

Usage: /usr/bin/python3 models/tools/make_image_reference.py
"""

import json
import os

import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "src", "test", "resources", "dev", "latent", "encode", "image")

CONFIGS = {
    # CLIP-like: shorter side to 40, centre crop 32, bicubic, CLIP's mean and std.
    "clip": dict(width=32, height=32, resizeShortest=40, resample="bicubic", channels=3,
                 mean=[0.48145466, 0.4578275, 0.40821073], std=[0.26862954, 0.26130258, 0.27577711]),
    # Direct resize to 24 x 20, bilinear, mean and std 0.5.
    "direct": dict(width=24, height=20, resizeShortest=0, resample="bilinear", channels=3,
                   mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),
    # Grayscale 8 x 8, box filter, no normalisation beyond 1/255 (the digits autoencoder's input).
    "gray": dict(width=8, height=8, resizeShortest=0, resample="box", channels=1, mean=[0.0], std=[1.0]),
}
FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "box": Image.BOX, "nearest": Image.NEAREST}


def make_images(rng):
    images = {}
    h, w = 61, 97
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 25, rgb.shape), 0, 255).astype(np.uint8)
    images["rgb-97x61.png"] = Image.fromarray(rgb, "RGB")
    gray = rng.integers(0, 256, (80, 50)).astype(np.uint8)
    images["gray-50x80.png"] = Image.fromarray(gray, "L")
    rgba = rng.integers(0, 256, (64, 64, 4)).astype(np.uint8)
    images["rgba-64x64.png"] = Image.fromarray(rgba, "RGBA")
    pal = Image.fromarray(rng.integers(0, 256, (30, 40, 3)).astype(np.uint8), "RGB").quantize(colors=16)
    images["palette-40x30.png"] = pal
    g16 = rng.integers(0, 65536, (47, 33)).astype(np.uint16)
    images["gray16-33x47.png"] = Image.fromarray(g16, "I;16")
    scene = np.zeros((150, 200, 3), np.uint8)
    yy, xx = np.mgrid[0:150, 0:200]
    scene[..., 0] = (xx * 255 // 200).astype(np.uint8)
    scene[..., 1] = (yy * 255 // 150).astype(np.uint8)
    scene[40:110, 60:140] = [200, 30, 40]
    scene[((xx - 150) ** 2 + (yy - 40) ** 2) < 400] = [20, 180, 220]
    images["photo-200x150.jpg"] = Image.fromarray(scene, "RGB")
    images["tiny-1x1.png"] = Image.fromarray(np.array([[[10, 200, 90]]], np.uint8), "RGB")
    return images


def to_mode(img, channels):
    """Pillow's conversion, with 16-bit grayscale scaled to 8 bits as round(v / 257) (Latent's rule)."""
    if img.mode == "I;16" or img.mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.round(arr / 257.0).astype(np.uint8), "L")
    return img.convert("L" if channels == 1 else "RGB")


def preprocess(img, c):
    img = to_mode(img, c["channels"])
    f = FILTERS[c["resample"]]
    if c["resizeShortest"] > 0:
        s = c["resizeShortest"]
        w, h = img.size
        if w <= h:
            size = (s, int(s * h / w))
        else:
            size = (int(s * w / h), s)
        img = img.resize(size, f)
    else:
        img = img.resize((c["width"], c["height"]), f)
    arr = np.asarray(img, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w = arr.shape[:2]
    th, tw = c["height"], c["width"]
    top, left = (h - th) // 2, (w - tw) // 2
    out = np.zeros((th, tw, arr.shape[2]))
    for y in range(th):
        for x in range(tw):
            sy, sx = y + top, x + left
            if 0 <= sy < h and 0 <= sx < w:
                out[y, x] = arr[sy, sx]
    out = out / 255.0
    out = (out - np.array(c["mean"])) / np.array(c["std"])
    return out.transpose(2, 0, 1).astype(np.float32)


class TinyCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
                                       torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
                                       torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())

    def forward(self, pixel_values):
        return self.net(pixel_values)


def main():
    rng = np.random.default_rng(20261126)
    os.makedirs(OUT, exist_ok=True)
    images = make_images(rng)
    names = sorted(images)
    for name, img in images.items():
        path = os.path.join(OUT, name)
        if name.endswith(".jpg"):
            img.save(path, quality=92)
        else:
            img.save(path)
    record = {"images": names, "configs": CONFIGS}
    for key, c in CONFIGS.items():
        # Decode again from the written files, as the test does.
        tensors = np.stack([preprocess(Image.open(os.path.join(OUT, n)), c) for n in names])
        np.save(os.path.join(OUT, f"reference-{key}.npy"), tensors.reshape(len(names), -1))
    torch.manual_seed(7)
    model = TinyCnn().eval()
    torch.onnx.export(model, torch.zeros(2, 3, 32, 32), os.path.join(OUT, "tiny-cnn.onnx"),
                      input_names=["pixel_values"], output_names=["embedding"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=13)
    clip = torch.from_numpy(np.load(os.path.join(OUT, "reference-clip.npy")).reshape(-1, 3, 32, 32))
    with torch.no_grad():
        emb = model(clip).numpy().astype(np.float32)
    np.save(os.path.join(OUT, "embeddings-clip.npy"), emb)
    # A CMYK JPEG (decoded by the TwelveMonkeys plug-in; checked for decoding, not against Pillow's conversion).
    cmyk = np.random.default_rng(5).integers(0, 256, (24, 32, 4)).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(os.path.join(OUT, "cmyk-32x24.jpg"), quality=90)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print("wrote", OUT, names)


if __name__ == "__main__":
    main()
