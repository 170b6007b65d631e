#!/usr/bin/env python3
"""The text encoder's ONNX file run as a torch model: a peer to check our vectors against and to time ours with.

The peer reads the BERT encoder's weights out of the ONNX file itself (its initializers), finds each weight's
role from the graph's structure (which MatMul feeds which Reshape, Softmax, residual Add and LayerNorm; no
initializer names are relied on) and runs the same computation in torch: embeddings (word + token type +
position), LayerNorm, the layers (self-attention, GELU as the graph computes it, LayerNorms with the graph's
epsilon), then pooling over the attention mask and L2 normalisation as our encoder does. A graph that is not
this kind of encoder is refused with the reason.

Input is a dump folder written by our side (dev.latent.bench.EncodeBench --dump DIR): the token ids, masks and
type ids in the batches our encoder runs (each batch padded to its longest text), our float32 vectors of the
first texts, and our timings. Steps:

  1. check: the peer's float32 vectors of the dump's check texts against ours, per attention mode; exit 1
     when the least cosine is under --min-cosine (float16: under --min-cosine-fp16, reported as well);
  2. time: each (attention mode, dtype, batch size) over the dump's texts: one untimed pass, then passes
     while under --seconds; a batch is timed from host token ids to pooled vectors in host memory;
  3. table: ours (from the dump's timing.json) and the peer's, texts/s, p50 batch latency and the ratio of each
     row's texts/s to the torch float32 eager peer and to the fastest torch float16 mode at the same batch
     size (above 1: faster than it); also written as results.json and results.tsv in --out.

Attention modes: "eager" (matmul, softmax, matmul, as the graph does) and "sdpa"
(torch.nn.functional.scaled_dot_product_attention, torch 2.0 and later). float16 runs on CUDA only.

Usage: python3 encoder_peer.py --data DIR [--onnx M.onnx] --device cpu|cuda [--batches 32,128] [--texts N]
                               [--min-cosine 0.9999] [--seconds 5] [--out DIR]
Needs numpy, torch and onnx (Debian: python3-numpy python3-torch python3-onnx).
"""

import argparse
import json
import math
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_BERT = 3


class NotBert(Exception):
    """The graph is not the BERT encoder this peer implements; the message says where it differs."""


# ----------------------------------------------------------------------------------------------------------
# Reading the graph


class Graph:
    """An ONNX graph with its edges indexed both ways and constant folding of weight-like inputs."""

    def __init__(self, model):
        g = model.graph
        self.init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.producer = {}
        self.consumers = defaultdict(list)
        for n in g.node:
            for o in n.output:
                self.producer[o] = n
            for i in n.input:
                if i:
                    self.consumers[i].append(n)
        self.inputs = [i.name for i in g.input if i.name not in self.init]
        self.outputs = [o.name for o in g.output]
        self.opset = max([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] or [1])

    def const(self, name):
        """The value of `name` when it is constant (an initializer, a Constant, or one seen through Identity,
        Transpose or Cast), else None."""
        if name in self.init:
            return self.init[name]
        n = self.producer.get(name)
        if n is None:
            return None
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
                if a.name in ("value_float", "value_int"):
                    return np.array(onnx.helper.get_attribute_value(a))
                if a.name in ("value_floats", "value_ints"):
                    return np.array(list(onnx.helper.get_attribute_value(a)))
            return None
        if n.op_type == "Identity":
            return self.const(n.input[0])
        if n.op_type == "Transpose":
            a = self.const(n.input[0])
            return None if a is None else np.transpose(a, attr(n, "perm", None))
        if n.op_type == "Cast":
            a = self.const(n.input[0])
            return None if a is None else a.astype(onnx.helper.tensor_dtype_to_np_dtype(attr(n, "to", 1)))
        return None

    def scalar(self, name):
        v = self.const(name)
        return None if v is None or v.size != 1 else float(v.reshape(()))

    def uses(self, name):
        """Nodes that read `name` as data (shape queries excluded)."""
        return [n for n in self.consumers.get(name, []) if n.op_type != "Shape"]

    def one(self, name, op, where):
        found = [n for n in self.uses(name) if n.op_type == op]
        if len(found) != 1:
            raise NotBert("%s: expected one %s reading %s, found %d (readers: %s)"
                          % (where, op, name, len(found), ", ".join(n.op_type for n in self.uses(name)) or "none"))
        return found[0]

    def other(self, node, name):
        """The input of a two-input node that is not `name`."""
        ins = [i for i in node.input if i != name]
        if len(ins) != 1:
            raise NotBert("%s %s does not combine %s with one other input" % (node.op_type, node.name, name))
        return ins[0]

    def depends_on(self, name, source, limit=64):
        """Whether `source` (a graph input) is among the ancestors of `name`, within `limit` nodes."""
        seen, pending = set(), [name]
        while pending and len(seen) < limit:
            t = pending.pop()
            if t == source:
                return True
            n = self.producer.get(t)
            if n is not None and n.name not in seen:
                seen.add(n.name)
                pending.extend(i for i in n.input if i)
        return False


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def reduce_axes(g, node):
    axes = attr(node, "axes", None)
    if axes is None and len(node.input) > 1:
        c = g.const(node.input[1])
        axes = None if c is None else c.reshape(-1).tolist()
    return list(axes) if axes is not None else None


def layer_norm(g, x, where):
    """The LayerNorm reading `x`: ({weight, bias, eps}, its output). Either the LayerNormalization op or the
    decomposition PyTorch exports before opset 17: mean, x - mean, pow 2, mean, + eps, sqrt, divide, scale, shift."""
    ln = [n for n in g.uses(x) if n.op_type == "LayerNormalization"]
    if ln:
        n = ln[0]
        if attr(n, "axis", -1) != -1:
            raise NotBert("%s: LayerNormalization over axis %s, not the last" % (where, attr(n, "axis", -1)))
        w, b = g.const(n.input[1]), g.const(n.input[2]) if len(n.input) > 2 else None
        if w is None or b is None:
            raise NotBert("%s: LayerNormalization without a constant scale and bias" % where)
        return {"weight": w, "bias": b, "eps": float(attr(n, "epsilon", 1e-5))}, n.output[0]
    mean = g.one(x, "ReduceMean", where + " LayerNorm")
    if reduce_axes(g, mean) not in ([-1],):
        raise NotBert("%s: LayerNorm mean over axes %s, not the last" % (where, reduce_axes(g, mean)))
    subs = [n for n in g.uses(mean.output[0]) if n.op_type == "Sub" and list(n.input) == [x, mean.output[0]]]
    if len(subs) != 1:
        raise NotBert("%s: LayerNorm without x - mean(x)" % where)
    centred = subs[0].output[0]
    power = g.one(centred, "Pow", where + " LayerNorm")
    if g.scalar(power.input[1]) != 2.0:
        raise NotBert("%s: LayerNorm variance with exponent %s" % (where, g.scalar(power.input[1])))
    var = g.one(power.output[0], "ReduceMean", where + " LayerNorm variance")
    add_eps = g.one(var.output[0], "Add", where + " LayerNorm epsilon")
    eps = g.scalar(g.other(add_eps, var.output[0]))
    if eps is None or not 0 < eps < 1e-2:
        raise NotBert("%s: LayerNorm epsilon %s is not a small constant" % (where, eps))
    root = g.one(add_eps.output[0], "Sqrt", where + " LayerNorm")
    div = g.one(root.output[0], "Div", where + " LayerNorm")
    if list(div.input) != [centred, root.output[0]]:
        raise NotBert("%s: LayerNorm divides %s, not x - mean(x)" % (where, list(div.input)))
    mul = g.one(div.output[0], "Mul", where + " LayerNorm scale")
    add = g.one(mul.output[0], "Add", where + " LayerNorm shift")
    w, b = g.const(g.other(mul, div.output[0])), g.const(g.other(add, mul.output[0]))
    if w is None or b is None or w.ndim != 1 or b.shape != w.shape:
        raise NotBert("%s: LayerNorm scale or shift is not a constant vector" % where)
    return {"weight": w, "bias": b, "eps": eps}, add.output[0]


def linear(g, mm, where):
    """A MatMul by a constant weight plus a constant bias: ({weight (out, in) as torch stores it, bias}, output).
    ONNX computes x @ W with W stored (in, out); a weight that reaches the MatMul through a Transpose is folded."""
    w = g.const(mm.input[1])
    if w is None or w.ndim != 2:
        raise NotBert("%s: MatMul %s has no constant 2-D weight" % (where, mm.name))
    add = g.one(mm.output[0], "Add", where + " bias")
    b = g.const(g.other(add, mm.output[0]))
    if b is None or b.shape != (w.shape[1],):
        raise NotBert("%s: the bias after MatMul %s is not a constant vector of %d" % (where, mm.name, w.shape[1]))
    return {"weight": np.ascontiguousarray(w.T), "bias": b}, add.output[0]


def compose(p, q):
    """The permutation of applying Transpose(p) and then Transpose(q)."""
    return [p[i] for i in q]


def follow_heads(g, t, where):
    """From a Q, K or V projection to the attention MatMul it feeds: through Reshape to (batch, length, heads,
    head size), Transposes and constant scalings. Returns (matmul, input index, (heads, head size), permutation
    relative to (batch, length, heads, head size), scale)."""
    shape, perm, scale = None, None, 1.0
    for _ in range(8):
        uses = g.uses(t)
        if len(uses) != 1:
            raise NotBert("%s: %s is read by %d nodes, expected a chain to an attention MatMul" % (where, t, len(uses)))
        n = uses[0]
        if n.op_type == "Reshape":
            shape = reshape_dims(g, n)
            perm = [0, 1, 2, 3]
        elif n.op_type == "Transpose":
            if perm is None:
                raise NotBert("%s: Transpose before the Reshape into heads" % where)
            perm = compose(perm, list(attr(n, "perm", [])))
        elif n.op_type in ("Mul", "Div"):
            s = g.scalar(g.other(n, t))
            if s is None:
                raise NotBert("%s: %s by a non-constant between the projection and the attention" % (where, n.op_type))
            scale *= s if n.op_type == "Mul" else 1.0 / s
        elif n.op_type == "MatMul":
            if shape is None or len(shape) != 4 or shape[2] <= 0 or shape[3] <= 0:
                raise NotBert("%s: no Reshape into (batch, length, heads, head size) before the attention" % where)
            return n, list(n.input).index(t), (shape[2], shape[3]), perm, scale
        else:
            raise NotBert("%s: unexpected %s between the projection and the attention" % (where, n.op_type))
        t = n.output[0]
    raise NotBert("%s: no attention MatMul within 8 nodes of the projection" % where)


def reshape_dims(g, n):
    """The target shape of a Reshape as far as it is constant (-1 where it is computed)."""
    c = g.const(n.input[1])
    if c is not None:
        return c.reshape(-1).tolist()
    p = g.producer.get(n.input[1])
    if p is None or p.op_type != "Concat":
        return None
    dims = []
    for i in p.input:
        v = g.const(i)
        dims.extend(v.reshape(-1).tolist() if v is not None else [-1])
    return dims


def activation(g, t, where):
    """The activation from the intermediate dense output `t` to the next MatMul: ("erf" | "tanh", its output)."""
    seen, frontier, out = [], [t], None
    while frontier:
        x = frontier.pop()
        for n in g.uses(x):
            if n in seen:
                continue
            if n.op_type == "MatMul":
                if out is not None and out != x:
                    raise NotBert("%s: the activation feeds two MatMuls" % where)
                out = x
                continue
            seen.append(n)
            if len(seen) > 16:
                raise NotBert("%s: more than 16 nodes between the intermediate dense and the output dense" % where)
            frontier.extend(n.output)
    ops = sorted(n.op_type for n in seen)
    consts = [g.scalar(i) for n in seen for i in n.input if g.scalar(i) is not None]
    if out is None:
        raise NotBert("%s: the intermediate dense reaches no MatMul" % where)
    if ops == ["Gelu"]:
        return ("tanh" if attr(seen[0], "approximate", b"none") in (b"tanh", "tanh") else "erf"), out
    def has(v):
        return any(abs(c - v) < 1e-6 * max(1.0, abs(v)) for c in consts)

    # 0.5 x (1 + erf(x / sqrt 2)), with the division possibly a multiplication by 1 / sqrt 2.
    if "Erf" in ops and set(ops) <= {"Div", "Mul", "Erf", "Add"}:
        if (has(math.sqrt(2)) or has(1 / math.sqrt(2))) and has(0.5) and has(1.0):
            return "erf", out
    # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    if "Tanh" in ops and has(0.044715):
        return "tanh", out
    raise NotBert("%s: activation %s (constants %s) is not GELU" % (where, ops, consts))


QUANTISED = {"MatMulInteger", "DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "QLinearMatMul",
             "ConvInteger", "QLinearConv"}


def read_bert(model):
    """The weights of a BERT encoder (as exported by PyTorch / Hugging Face) with the roles the graph gives them."""
    g = Graph(model)
    quantised = sorted({n.op_type for n in model.graph.node if n.op_type in QUANTISED})
    if quantised:
        raise NotBert("a quantised graph (%s); the peer reads float weights" % ", ".join(quantised))
    fused = sorted({"%s.%s" % (n.domain, n.op_type) for n in model.graph.node if n.domain not in ("", "ai.onnx")})
    if fused:
        raise NotBert("operators outside the ONNX standard (%s): an optimised export, where the peer reads the "
                      "plain one" % ", ".join(fused))
    if "input_ids" not in g.inputs or "attention_mask" not in g.inputs:
        raise NotBert("inputs are %s; expected input_ids and attention_mask (and optionally token_type_ids)" % g.inputs)
    gathers = [n for n in g.uses("input_ids") if n.op_type == "Gather"]
    if len(gathers) != 1 or g.const(gathers[0].input[0]) is None:
        raise NotBert("input_ids does not index one constant embedding table")
    word_node = gathers[0]
    word = g.const(word_node.input[0])
    hidden = word.shape[1]
    # The embedding sum: a chain of Adds from the word embeddings up to the first LayerNorm.
    terms, t = {}, word_node.output[0]
    while True:
        uses = g.uses(t)
        if len(uses) == 1 and uses[0].op_type == "Add":
            other = g.producer.get(g.other(uses[0], t))
            if other is None or other.op_type != "Gather" or g.const(other.input[0]) is None:
                raise NotBert("embeddings: an added term is not a lookup in a constant table")
            index = other.input[1]
            if index == "token_type_ids":
                terms["type"] = g.const(other.input[0])
            else:
                terms["position"] = (g.const(other.input[0]), index)
            t = uses[0].output[0]
        else:
            break
    if "position" not in terms:
        raise NotBert("embeddings: no position embedding term")
    position, index = terms["position"]
    positions = position_ids(g, index)
    if ("token_type_ids" in g.inputs) != ("type" in terms):
        raise NotBert("embeddings: token_type_ids %s but %s token type embedding"
                      % ("is an input" if "token_type_ids" in g.inputs else "is no input",
                         "a" if "type" in terms else "no"))
    emb_ln, h = layer_norm(g, t, "embeddings")
    bert = {"word": word, "position": position, "position_offset": positions, "type": terms.get("type"),
            "ln": emb_ln, "layers": [], "hidden": hidden}
    while True:
        projections = [n for n in g.uses(h) if n.op_type == "MatMul"]
        if not projections:
            break
        bert["layers"].append(read_layer(g, h, projections, hidden, "layer %d" % len(bert["layers"])))
        h = bert["layers"][-1]["out"]
    if not bert["layers"]:
        raise NotBert("no encoder layer after the embeddings")
    if h not in g.outputs:
        raise NotBert("the last layer's output %s is not a graph output (outputs: %s)" % (h, g.outputs))
    return bert


def position_ids(g, index):
    """Checks that the position lookup takes positions 0, 1, ..., length - 1 (not RoBERTa's mask-based ones);
    returns the first position."""
    n = g.producer.get(index)
    if n is not None and n.op_type == "Slice":
        table = g.const(n.input[0])
        start = g.const(n.input[1])
        axes = g.const(n.input[3]) if len(n.input) > 3 else None
        if table is not None and start is not None and (axes is None or axes.reshape(-1).tolist() in ([1], [-1])):
            row = table.reshape(-1)
            s = int(start.reshape(-1)[0])
            if np.array_equal(row, np.arange(len(row))) and s == 0:
                return 0
    raise NotBert("embeddings: position ids are not the constant 0, 1, 2, ... sliced to the length")


def read_layer(g, h, projections, hidden, where):
    if len(projections) != 3:
        raise NotBert("%s: %d MatMuls read the hidden state, expected query, key and value" % (where, len(projections)))
    ends = []
    for mm in projections:
        lin, out = linear(g, mm, where)
        ends.append((lin,) + follow_heads(g, out, where))
    by_matmul = defaultdict(list)
    for e in ends:
        by_matmul[e[1].name].append(e)
    scores_mm = [v for v in by_matmul.values() if len(v) == 2]
    values = [v[0] for v in by_matmul.values() if len(v) == 1]
    if len(scores_mm) != 1 or len(values) != 1:
        raise NotBert("%s: the three projections do not meet as scores = Q K^T and context = P V" % where)
    pair = sorted(scores_mm[0], key=lambda e: e[2])
    q, k, v = pair[0], pair[1], values[0]
    heads, size = q[3]
    if q[3] != k[3] or q[3] != v[3] or heads * size != hidden:
        raise NotBert("%s: heads %s, %s, %s do not split the hidden size %d" % (where, q[3], k[3], v[3], hidden))
    if q[4] != [0, 2, 1, 3] or k[4] != [0, 2, 3, 1] or v[4] != [0, 2, 1, 3] or v[2] != 1:
        raise NotBert("%s: head layouts Q %s, K %s, V %s are not Q K^T and P V" % (where, q[4], k[4], v[4]))
    scale = q[5] * k[5]
    # scores -> [scale] -> + mask -> Softmax
    t, masked = scores_mm[0][0][1].output[0], False
    while True:
        uses = g.uses(t)
        if len(uses) != 1:
            raise NotBert("%s: the attention scores branch" % where)
        n = uses[0]
        if n.op_type in ("Mul", "Div") and g.scalar(g.other(n, t)) is not None:
            s = g.scalar(g.other(n, t))
            scale *= s if n.op_type == "Mul" else 1.0 / s
        elif n.op_type == "Add":
            if not g.depends_on(g.other(n, t), "attention_mask"):
                raise NotBert("%s: something other than the attention mask is added to the scores" % where)
            masked = True
        elif n.op_type == "Softmax":
            # Before opset 13 Softmax defaults to axis 1 (over the flattened trailing axes).
            axis = attr(n, "axis", -1 if g.opset >= 13 else 1)
            if axis not in (-1, 3):
                raise NotBert("%s: softmax over axis %s, not the keys" % (where, axis))
            break
        else:
            raise NotBert("%s: unexpected %s between the scores and the softmax" % (where, n.op_type))
        t = n.output[0]
    if not masked:
        raise NotBert("%s: the attention mask is not added to the scores" % where)
    context_mm = v[1]
    if g.producer.get(context_mm.input[0]) is not n:
        raise NotBert("%s: the value MatMul does not take the softmax output" % where)
    # context -> Transpose back -> Reshape to hidden -> output dense
    t, perm = context_mm.output[0], [0, 1, 2, 3]
    while True:
        uses = g.uses(t)
        if len(uses) != 1:
            raise NotBert("%s: the attention context branches" % where)
        n = uses[0]
        if n.op_type == "Transpose":
            perm = compose(perm, list(attr(n, "perm", [])))
        elif n.op_type == "Reshape":
            pass
        elif n.op_type == "MatMul":
            break
        else:
            raise NotBert("%s: unexpected %s after the attention context" % (where, n.op_type))
        t = n.output[0]
    if perm != [0, 2, 1, 3]:
        raise NotBert("%s: the context is not put back as (batch, length, heads, head size)" % where)
    attn_out, t = linear(g, n, where + " attention output")
    res = g.one(t, "Add", where + " attention residual")
    if g.other(res, t) != h:
        raise NotBert("%s: the attention residual does not add the layer input" % where)
    ln1, h1 = layer_norm(g, res.output[0], where + " attention")
    ffn = [n for n in g.uses(h1) if n.op_type == "MatMul"]
    if len(ffn) != 1:
        raise NotBert("%s: %d MatMuls read the attention output, expected the intermediate dense" % (where, len(ffn)))
    inter, t = linear(g, ffn[0], where + " intermediate")
    act, t = activation(g, t, where)
    out_mm = [n for n in g.uses(t) if n.op_type == "MatMul"][0]
    out, t = linear(g, out_mm, where + " output")
    res = g.one(t, "Add", where + " output residual")
    if g.other(res, t) != h1:
        raise NotBert("%s: the output residual does not add the attention output" % where)
    ln2, h2 = layer_norm(g, res.output[0], where + " output")
    return {"q": q[0], "k": k[0], "v": v[0], "heads": heads, "head_size": size, "scale": scale,
            "attn_out": attn_out, "ln1": ln1, "inter": inter, "act": act, "out": h2, "ffn_out": out, "ln2": ln2}


def describe(bert):
    l0 = bert["layers"][0]
    return ("BERT: %d layers, hidden %d, %d heads of %d, vocabulary %d, %d positions, %s GELU, LayerNorm eps %g, "
            "attention scale %.6g%s" % (len(bert["layers"]), bert["hidden"], l0["heads"], l0["head_size"],
                                        bert["word"].shape[0], bert["position"].shape[0], l0["act"],
                                        bert["ln"]["eps"], l0["scale"],
                                        "" if bert["type"] is None else ", token type embeddings"))


# ----------------------------------------------------------------------------------------------------------
# The torch model


HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class Peer:
    """The encoder in torch, with its weights on `device` in `dtype`. Not thread-safe."""

    def __init__(self, bert, device, dtype, pooling="mean", normalize=True):
        self.device, self.dtype = device, dtype
        self.pooling, self.normalize = pooling, normalize

        def t(a):
            return torch.tensor(np.ascontiguousarray(a)).to(device=device, dtype=dtype)

        def ln(p):
            return t(p["weight"]), t(p["bias"]), p["eps"]

        def lin(p):
            return t(p["weight"]), t(p["bias"])

        self.word, self.position = t(bert["word"]), t(bert["position"])
        self.type = None if bert["type"] is None else t(bert["type"])
        self.ln = ln(bert["ln"])
        self.layers = [{"q": lin(l["q"]), "k": lin(l["k"]), "v": lin(l["v"]), "o": lin(l["attn_out"]),
                        "ln1": ln(l["ln1"]), "i": lin(l["inter"]), "f": lin(l["ffn_out"]), "ln2": ln(l["ln2"]),
                        "heads": l["heads"], "size": l["head_size"], "scale": l["scale"],
                        "gelu": {"approximate": "tanh"} if l["act"] == "tanh" else {}}
                       for l in bert["layers"]]

    def forward(self, ids, mask, types, attention):
        """Pooled, normalised float32 vectors of one padded batch (ids, mask, types: int64 [batch, length])."""
        b, n = ids.shape
        x = self.word[ids]
        if self.type is not None:
            x = x + self.type[types]
        x = x + self.position[:n]
        x = F.layer_norm(x, x.shape[-1:], *self.ln[:2], eps=self.ln[2])
        if attention == "eager":
            # The graph adds (1 - mask) * the dtype's lowest value to the scores.
            bias = (1.0 - mask[:, None, None, :].to(self.dtype)) * torch.finfo(self.dtype).min
        else:
            keep = mask[:, None, None, :].bool()
        for l in self.layers:
            h, d = l["heads"], l["size"]
            q = F.linear(x, *l["q"]).view(b, n, h, d).transpose(1, 2)
            k = F.linear(x, *l["k"]).view(b, n, h, d).transpose(1, 2)
            v = F.linear(x, *l["v"]).view(b, n, h, d).transpose(1, 2)
            if attention == "eager":
                p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * l["scale"] + bias, dim=-1)
                c = torch.matmul(p, v)
            else:
                # scaled_dot_product_attention scales by 1 / sqrt(head size); fold any other scale into q.
                default = 1.0 / math.sqrt(d)
                if abs(l["scale"] - default) > 1e-6 * default:
                    q = q * (l["scale"] / default)
                c = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            c = c.transpose(1, 2).reshape(b, n, h * d)
            x = F.layer_norm(F.linear(c, *l["o"]) + x, x.shape[-1:], *l["ln1"][:2], eps=l["ln1"][2])
            f = F.linear(F.gelu(F.linear(x, *l["i"]), **l["gelu"]), *l["f"])
            x = F.layer_norm(f + x, x.shape[-1:], *l["ln2"][:2], eps=l["ln2"][2])
        x = x.float()
        if self.pooling == "cls":
            v = x[:, 0]
        else:
            m = mask.to(torch.float32).unsqueeze(-1)
            v = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(v, dim=-1, eps=1e-12) if self.normalize else v


# ----------------------------------------------------------------------------------------------------------
# The dump


class TokenSet:
    """One token set of the dump: its batches as int64 tensors in host memory (pinned for a CUDA device)."""

    def __init__(self, data, name, pin):
        ids, mask, types = (np.load(data / ("%s-%s.npy" % (name, p))) for p in ("ids", "mask", "types"))
        index = np.load(data / ("%s-batches.npy" % name))
        self.rows = np.load(data / ("%s-rows.npy" % name))
        self.batches = []
        for off, rows, length in index.tolist():
            parts = []
            for a in (ids, mask, types):
                x = torch.from_numpy(a[off:off + rows * length].astype(np.int64).reshape(rows, length))
                parts.append(x.pin_memory() if pin else x)
            self.batches.append(tuple(parts))
        self.texts = sum(b[0].shape[0] for b in self.batches)

    def subset(self, texts):
        """About `texts` texts: every k-th batch, so that short and long texts stay represented."""
        if texts >= self.texts:
            return list(range(len(self.batches)))
        want = max(1, round(len(self.batches) * texts / self.texts))
        return sorted(set(np.linspace(0, len(self.batches) - 1, want).round().astype(int).tolist()))


def run_batch(peer, batch, attention):
    ids, mask, types = (x.to(peer.device, non_blocking=True) for x in batch)
    return peer.forward(ids, mask, types, attention).cpu()


def check(peer, tokens, ours, attention):
    """Cosines of the peer's vectors of the check texts to ours (rows of `ours` are text rows)."""
    out = torch.cat([run_batch(peer, b, attention) for b in tokens.batches]).numpy().astype(np.float64)
    want = ours[tokens.rows].astype(np.float64)
    cos = (out * want).sum(1) / np.sqrt((out * out).sum(1) * (want * want).sum(1))
    return cos


def time_set(peer, tokens, chosen, attention, seconds, cuda):
    """One untimed pass over the chosen batches, then passes while under `seconds` (at least one)."""
    for i in chosen:
        run_batch(peer, tokens.batches[i], attention)
    passes, batch_ms = [], []
    while True:
        if cuda:
            torch.cuda.synchronize()
        p0 = time.perf_counter()
        for i in chosen:
            b0 = time.perf_counter()
            run_batch(peer, tokens.batches[i], attention)  # .cpu() waits for the device
            batch_ms.append((time.perf_counter() - b0) * 1e3)
        passes.append(time.perf_counter() - p0)
        if sum(passes) >= seconds:
            break
    texts = sum(tokens.batches[i][0].shape[0] for i in chosen)
    return {"texts": texts, "batches": len(chosen), "texts_per_s": texts / float(np.median(passes)),
            "p50_batch_ms": float(np.median(batch_ms)), "pass_s": passes}


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return "%s, %d cores" % (line.split(":", 1)[1].strip(), os.cpu_count())
    except OSError:
        pass
    return "%s, %d cores" % (platform.machine(), os.cpu_count())


def table(ours, peers):
    """Rows of the final table with their ratios to torch float32 eager and the fastest torch float16 mode."""
    rows = []
    for r in ours:
        rows.append({"who": "latent", "path": r["path"], "dtype": "float32", "batch": r["batch"], "texts": r["texts"],
                     "texts_per_s": r["texts_per_s"], "p50_batch_ms": r["p50_batch_ms"]})
    rows.extend(p for p in peers if p.get("status") == "ok")
    for r in rows:
        same = [p for p in peers if p.get("status") == "ok" and p["batch"] == r["batch"]]
        eager = [p for p in same if p["path"] == "eager" and p["dtype"] == "float32"]
        half = [p for p in same if p["dtype"] == "float16"]
        r["vs_torch_fp32_eager"] = r["texts_per_s"] / eager[0]["texts_per_s"] if eager else None
        best = max(half, key=lambda p: p["texts_per_s"]) if half else None
        r["vs_torch_fp16_best"] = r["texts_per_s"] / best["texts_per_s"] if best else None
        r["torch_fp16_best"] = best["path"] if best else None
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="folder written by EncodeBench --dump")
    ap.add_argument("--onnx", type=Path, help="the ONNX file (default: the one the dump names)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    ap.add_argument("--batches", help="batch sizes to time, e.g. 32,128 (default: every size in the dump)")
    ap.add_argument("--texts", type=int, default=0, help="texts timed per batch size (default: all in the dump)")
    ap.add_argument("--min-cosine", type=float, default=0.9999, help="least float32 cosine to ours (default 0.9999)")
    ap.add_argument("--min-cosine-fp16", type=float, default=0.999,
                    help="least float16 cosine to ours (default 0.999: float16 keeps 11 significant bits)")
    ap.add_argument("--seconds", type=float, default=5.0, help="timing budget per row after the untimed pass")
    ap.add_argument("--modes", default="eager,sdpa", help="attention modes (default eager,sdpa)")
    ap.add_argument("--dtypes", default="float32,float16", help="dtypes (default float32,float16)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    ap.add_argument("--perturb", type=float, default=0.0,
                    help="scale layer 0's attention output weight by 1 + this (a planted error for the check)")
    ap.add_argument("--check-only", action="store_true", help="check, then stop")
    ap.add_argument("--out", type=Path, help="folder for results.json and results.tsv")
    args = ap.parse_args(argv)

    manifest = json.loads((args.data / "manifest.json").read_text())
    if manifest.get("format") != "latent-encode-dump 1":
        print("encoder_peer: %s is not a dump of this format (format %r)" % (args.data, manifest.get("format")),
              file=sys.stderr)
        return EXIT_USAGE
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        print("encoder_peer: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return EXIT_USAGE
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    onnx_path = args.onnx or (args.data / manifest["onnx"])
    try:
        bert = read_bert(onnx.load(str(onnx_path)))
    except NotBert as e:
        print("encoder_peer: %s is not the BERT encoder this peer implements: %s" % (onnx_path, e), file=sys.stderr)
        return EXIT_NOT_BERT
    if args.perturb:
        bert["layers"][0]["attn_out"]["weight"] = bert["layers"][0]["attn_out"]["weight"] * (1.0 + args.perturb)
    print("encoder_peer: %s: %s" % (onnx_path, describe(bert)))
    print("encoder_peer: torch %s on %s (%s), %d CPU threads; ours: %s on %s"
          % (torch.__version__, device, device_name(device), torch.get_num_threads(), manifest["model"],
             manifest["provider"]))
    if cuda:
        print("encoder_peer: float32 matmuls %s TF32 (torch.backends.cuda.matmul.allow_tf32)"
              % ("may use" if torch.backends.cuda.matmul.allow_tf32 else "do not use"))

    pooling, normalize = manifest.get("pooling", "mean"), manifest.get("normalize", True)
    modes, skipped = [], []
    for mode in args.modes.split(","):
        for dtype in args.dtypes.split(","):
            why = None
            if mode == "sdpa" and not HAS_SDPA:
                why = "torch %s has no scaled_dot_product_attention (2.0 and later)" % torch.__version__
            elif mode not in ("eager", "sdpa"):
                why = "unknown attention mode"
            elif dtype == "float16" and not cuda:
                why = "float16 on CPU: torch's CPU half-precision kernels are not a serving path"
            elif dtype not in ("float32", "float16"):
                why = "unknown dtype"
            if why:
                skipped.append({"who": "torch", "path": mode, "dtype": dtype, "status": "skipped", "reason": why})
                print("encoder_peer: %s %s skipped: %s" % (mode, dtype, why))
            else:
                modes.append((mode, dtype))
    if not modes:
        print("encoder_peer: nothing to run", file=sys.stderr)
        return EXIT_USAGE

    ours = np.load(args.data / manifest["embeddings"])
    check_set = TokenSet(args.data, "check", cuda)
    peers, failed = {}, False
    with torch.inference_mode():
        for mode, dtype in modes:
            if dtype not in peers:
                peers[dtype] = Peer(bert, device, getattr(torch, dtype), pooling, normalize)
            peer = peers[dtype]
            cos = check(peer, check_set, ours, mode)
            gate = args.min_cosine if dtype == "float32" else args.min_cosine_fp16
            ok = cos.min() >= gate
            failed |= not ok
            print("encoder_peer: check %s %s over %d texts: cosine to ours min %.8f, median %.8f "
                  "(1 - min %.1e; %s %g)" % (mode, dtype, len(cos), cos.min(), np.median(cos), 1 - cos.min(),
                                             "ok, at least" if ok else "FAILED, below", gate))
        if failed:
            print("encoder_peer: the peer does not compute what our encoder computes; no timings", file=sys.stderr)
            return EXIT_CHECK_FAILED
        if args.check_only:
            return 0

        sizes = sorted(int(k[1:]) for k in manifest["sets"] if k.startswith("b"))
        if args.batches:
            want = [int(b) for b in args.batches.split(",")]
            missing = [b for b in want if b not in sizes]
            if missing:
                print("encoder_peer: batch sizes %s are not in the dump (it has %s)" % (missing, sizes),
                      file=sys.stderr)
                return EXIT_USAGE
            sizes = want
        results = []
        for size in sizes:
            tokens = TokenSet(args.data, "b%d" % size, cuda)
            chosen = tokens.subset(args.texts) if args.texts > 0 else list(range(len(tokens.batches)))
            for mode, dtype in modes:
                r = time_set(peers[dtype], tokens, chosen, mode, args.seconds, cuda)
                r.update({"who": "torch", "path": mode, "dtype": dtype, "batch": size, "status": "ok"})
                results.append(r)
                print("encoder_peer: torch %-5s %-7s batch %4d: %d texts in %d batches, %.1f texts/s, "
                      "p50 batch %.2f ms, %d passes" % (mode, dtype, size, r["texts"], r["batches"],
                                                        r["texts_per_s"], r["p50_batch_ms"], len(r["pass_s"])))
            sys.stdout.flush()

    timing_file = args.data / manifest.get("timing", "timing.json")
    latent = json.loads(timing_file.read_text())["results"] if timing_file.exists() else []
    latent = [r for r in latent if r["batch"] in sizes]
    rows = table(latent, results)
    print()
    print("Encoder: ours (%s, ONNX Runtime %s provider) against the torch peer (%s); same token batches, "
          "ours tokenise inside the timed calls" % (manifest["model"], manifest["provider"], device_name(device)))
    head = ("who", "path/mode", "dtype", "batch", "texts", "texts/s", "p50 ms", "x torch32 eager", "x torch16 best")
    line = "%-7s %-10s %-8s %6s %6s %10s %9s %16s %15s"
    print(line % head)
    tsv = ["\t".join(head)]
    for r in rows:
        f32 = "-" if r["vs_torch_fp32_eager"] is None else "%.2f" % r["vs_torch_fp32_eager"]
        f16 = "-" if r["vs_torch_fp16_best"] is None else "%.2f (%s)" % (r["vs_torch_fp16_best"], r["torch_fp16_best"])
        cells = (r["who"], r["path"], r["dtype"], str(r["batch"]), str(r["texts"]), "%.1f" % r["texts_per_s"],
                 "%.2f" % r["p50_batch_ms"], f32, f16)
        print(line % cells)
        tsv.append("\t".join(cells))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(
            {"device": device_name(device), "torch": torch.__version__, "model": manifest["model"],
             "provider": manifest["provider"], "rows": rows, "skipped": skipped}, indent=2))
        (args.out / "results.tsv").write_text("\n".join(tsv) + "\n")
        print("encoder_peer: wrote %s and %s" % (args.out / "results.json", args.out / "results.tsv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
