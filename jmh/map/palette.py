#!/usr/bin/env python3
"""Chooses the map palette: greedy farthest-point selection in CIEDE2000 over an sRGB grid, where the distance of
two colours is the smallest of their distances as seen with normal vision and under the Machado et al. (2009)
simulations of deuteranopia and protanopia (severity 1). Candidates: L* in [38, 78], chroma >= 30 (not a grey,
visible on white). White, the grey of 'no segment' (#b4b4b4) and the black of outliers count as taken.
Prints the chosen colours and, for the first 8, 10 and 12, the smallest pairwise distance in each vision."""
import itertools, sys
import numpy as np

MACHADO = {
    'deuteranopia': np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]),
    'protanopia': np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]),
}

def lin(c):
    c = np.asarray(c, float) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)

def simulate(rgb, kind):
    if kind == 'normal':
        return lin(rgb)
    return np.clip(lin(rgb) @ MACHADO[kind].T, 0, 1)

def lab(linear):
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)

def de2000(a, b):
    L1, a1, b1 = a[..., 0], a[..., 1], a[..., 2]
    L2, a2, b2 = b[..., 0], b[..., 1], b[..., 2]
    C1 = np.hypot(a1, b1); C2 = np.hypot(a2, b2); Cb = (C1 + C2) / 2
    G = 0.5 * (1 - np.sqrt(Cb ** 7 / (Cb ** 7 + 25.0 ** 7)))
    a1p = (1 + G) * a1; a2p = (1 + G) * a2
    C1p = np.hypot(a1p, b1); C2p = np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360; h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1; dCp = C2p - C1p
    dh = h2p - h1p
    dh = np.where(C1p * C2p == 0, 0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lbp = (L1 + L2) / 2; Cbp = (C1p + C2p) / 2
    hsum = h1p + h2p
    hbp = np.where(C1p * C2p == 0, hsum, np.where(np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)))
    T = 1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp)) + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63))
    dth = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    Rc = 2 * np.sqrt(Cbp ** 7 / (Cbp ** 7 + 25.0 ** 7))
    Sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    Sc = 1 + 0.045 * Cbp; Sh = 1 + 0.015 * Cbp * T
    Rt = -np.sin(np.radians(2 * dth)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh))

VISIONS = ['normal', 'deuteranopia', 'protanopia']

def labs(rgb):
    return {v: lab(simulate(rgb, v)) for v in VISIONS}

def mindist(rgb):
    L = labs(np.array(rgb))
    out = {}
    for v in VISIONS:
        d = de2000(L[v][:, None, :], L[v][None, :, :])
        d[np.eye(len(rgb), dtype=bool)] = np.inf
        out[v] = d.min()
    return out

def main(count=20):
    steps = np.arange(0, 256, 15)
    cand = np.array(list(itertools.product(steps, steps, steps)), float)
    L = labs(cand)
    n = L['normal']
    chroma = np.hypot(n[:, 1], n[:, 2])
    keep = (n[:, 0] >= 38) & (n[:, 0] <= 78) & (chroma >= 30)
    cand = cand[keep]
    L = {v: L[v][keep] for v in VISIONS}
    fixed = np.array([[255, 255, 255], [0xb4, 0xb4, 0xb4], [0, 0, 0]], float)
    F = labs(fixed)
    # Start with tab10's blue, then farthest points.
    best = np.full(len(cand), np.inf)
    for v in VISIONS:
        for f in F[v]:
            best = np.minimum(best, de2000(L[v], f[None, :]))
    chosen = []
    first = np.argmin(np.abs(cand - np.array([30, 120, 180])).sum(1))
    while len(chosen) < count:
        i = first if not chosen else int(np.argmax(best))
        chosen.append(cand[i].astype(int))
        for v in VISIONS:
            best = np.minimum(best, de2000(L[v], L[v][i][None, :]))
    # Then improve the first 12 as a set: each colour in turn replaced by the candidate farthest from the other
    # eleven (and the fixed colours), until no swap raises the smallest distance.
    k = 12
    idx = [int(np.where((cand == c).all(1))[0][0]) for c in chosen[:k]]
    def nearest_other(j, members):
        d = np.full(len(cand), np.inf)
        for v in VISIONS:
            for f in F[v]:
                d = np.minimum(d, de2000(L[v], f[None, :]))
            for o in members:
                if o != j:
                    d = np.minimum(d, de2000(L[v], L[v][o][None, :]))
        return d
    for sweep in range(20):
        changed = False
        for pos in range(k):
            d = nearest_other(idx[pos], idx)
            cur = d[idx[pos]]
            bestc = int(np.argmax(d))
            if d[bestc] > cur + 1e-9:
                idx[pos] = bestc
                changed = True
        if not changed:
            break
    # The rest greedily after the improved twelve.
    best = np.full(len(cand), np.inf)
    for v in VISIONS:
        for f in F[v]:
            best = np.minimum(best, de2000(L[v], f[None, :]))
        for o in idx:
            best = np.minimum(best, de2000(L[v], L[v][o][None, :]))
    while len(idx) < count:
        i = int(np.argmax(best))
        idx.append(i)
        for v in VISIONS:
            best = np.minimum(best, de2000(L[v], L[v][i][None, :]))
    chosen = [cand[i].astype(int) for i in idx]
    for c in chosen:
        print('0x%02x%02x%02x' % tuple(c))
    for k in (8, 10, 12, 20):
        if k <= count:
            m = mindist(chosen[:k])
            print('first %2d: ' % k + ', '.join('%s %.1f' % (v, m[v]) for v in VISIONS))
    tab = [0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0xbcbd22, 0x17becf,
           0xaec7e8, 0xffbb78, 0x98df8a]
    rgb = [[(t >> 16) & 255, (t >> 8) & 255, t & 255] for t in tab]
    m = mindist(rgb)
    print('old (tab20 order) first 12: ' + ', '.join('%s %.1f' % (v, m[v]) for v in VISIONS))

if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
