#!/usr/bin/env python3
"""Trains the shipped digits autoencoder and exports its encoder and decoder as ONNX.

Data: models/digits/digits.csv.gz (the 1,797 UCI optical digits as scikit-learn ships them: 64 pixels in
0..16 and a label per line). Pixels are scaled to [0, 1] (value / 16), which is what an 8-bit grayscale
PNG of the digit (value * 255 / 16, rounded) gives back after the image encoder's 1/255 rescale, up to
rounding.

Split: a seeded, per-label 80/20 split; the held-out indices are written to the training record, so
every figure can be recomputed.

Model: a small MLP on the flattened 8x8 image, 64 -> 256 -> 128 -> 8 (the latent space) and back,
ReLU inside, a sigmoid on the decoder's output; trained with Adam on the mean squared error. The encoder
takes pixels [N, 1, 8, 8] (NCHW, like any vision model) and gives the latent [N, 8]; the decoder takes
the latent [N, 8] and gives pixels [N, 1, 8, 8].

Writes models/digits-ae/{digits-ae-encoder.onnx, digits-ae-decoder.onnx, training.json}.
Needs Debian's python3-torch (torch.onnx.export needs no onnx package) and numpy; scikit-learn only for
the PCA baseline in the record.

Usage: /usr/bin/python3 models/tools/train_digits_autoencoder.py
"""

import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
DATA = os.path.join(MODELS, "digits", "digits.csv.gz")
OUT = os.path.join(MODELS, "digits-ae")
LATENT = 8
SEED = 20261126
EPOCHS = 150
BATCH = 64


def load():
    with gzip.open(DATA, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.float64)
    pixels = (rows[:, :64] / 16.0).astype(np.float32)
    labels = rows[:, 64].astype(np.int64)
    return pixels, labels


def split(labels, rng):
    held = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        rng.shuffle(idx)
        held.extend(idx[: len(idx) // 5].tolist())
    held = np.array(sorted(held))
    train = np.setdiff1d(np.arange(len(labels)), held)
    return train, held


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, LATENT))

    def forward(self, pixels):
        return self.net(pixels)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(LATENT, 128), nn.ReLU(), nn.Linear(128, 256), nn.ReLU(),
                                 nn.Linear(256, 64), nn.Sigmoid())

    def forward(self, latent):
        return self.net(latent).reshape(-1, 1, 8, 8)


def mse_per_item(a, b):
    return ((a.reshape(len(a), -1) - b.reshape(len(b), -1)) ** 2).mean(axis=1)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    pixels, labels = load()
    train, held = split(labels, rng)
    x_train = torch.from_numpy(pixels[train].reshape(-1, 1, 8, 8))
    x_held = torch.from_numpy(pixels[held].reshape(-1, 1, 8, 8))

    enc, dec = Encoder(), Decoder()
    opt = torch.optim.AdamW(list(enc.parameters()) + list(dec.parameters()), lr=2e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    start = time.time()
    for epoch in range(EPOCHS):
        perm = torch.randperm(len(x_train))
        for i in range(0, len(perm), BATCH):
            batch = x_train[perm[i:i + BATCH]]
            loss = ((dec(enc(batch)) - batch) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 25 == 0 or epoch == EPOCHS - 1:
            with torch.no_grad():
                held_loss = ((dec(enc(x_held)) - x_held) ** 2).mean().item()
            print(f"epoch {epoch}: train batch mse {loss.item():.5f}, held-out mse {held_loss:.5f}", flush=True)
    seconds = time.time() - start

    enc.eval()
    dec.eval()
    with torch.no_grad():
        rec_train = dec(enc(x_train)).numpy()
        rec_held = dec(enc(x_held)).numpy()
    err_train = mse_per_item(rec_train, x_train.numpy())
    err_held = mse_per_item(rec_held, x_held.numpy())
    mean_image = x_train.numpy().mean(axis=0, keepdims=True)
    err_mean = mse_per_item(np.repeat(mean_image, len(x_held), axis=0), x_held.numpy())
    record = {
        "data": "models/digits/digits.csv.gz (UCI optical digits, test set, as shipped by scikit-learn; CC BY 4.0)",
        "split": {"seed": SEED, "train": int(len(train)), "heldOut": int(len(held)), "heldOutIndices": held.tolist()},
        "model": f"MLP 64-256-128-{LATENT} / {LATENT}-128-256-64 sigmoid, ReLU",
        "training": {"epochs": EPOCHS, "batch": BATCH, "optimizer": "AdamW lr 2e-3, weight decay 1e-3, cosine schedule", "seconds": round(seconds, 1),
                     "torch": torch.__version__},
        "reconstructionMse": {
            "train": float(err_train.mean()),
            "heldOut": float(err_held.mean()),
            "heldOutMedian": float(np.median(err_held)),
            "heldOutP95": float(np.percentile(err_held, 95)),
            "meanImageBaselineHeldOut": float(err_mean.mean()),
        },
        "pixelScale": "value / 16 in [0, 1]; an 8-bit PNG stores value * 255 / 16",
    }
    try:
        from sklearn.decomposition import PCA
        pca = PCA(n_components=LATENT, random_state=0).fit(pixels[train])
        rec = pca.inverse_transform(pca.transform(pixels[held]))
        record["reconstructionMse"]["pca8BaselineHeldOut"] = float(mse_per_item(rec, pixels[held]).mean())
    except ImportError:
        pass

    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(enc, torch.zeros(2, 1, 8, 8), os.path.join(OUT, "digits-ae-encoder.onnx"),
                      input_names=["pixels"], output_names=["latent"],
                      dynamic_axes={"pixels": {0: "batch"}, "latent": {0: "batch"}}, opset_version=13)
    torch.onnx.export(dec, torch.zeros(2, LATENT), os.path.join(OUT, "digits-ae-decoder.onnx"),
                      input_names=["latent"], output_names=["pixels"],
                      dynamic_axes={"latent": {0: "batch"}, "pixels": {0: "batch"}}, opset_version=13)
    with open(os.path.join(OUT, "training.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(json.dumps(record["reconstructionMse"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
