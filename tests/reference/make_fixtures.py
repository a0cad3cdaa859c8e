"""Reference fixtures for the iapt tensor/autograd engine.

Writes two safetensors files, computed with PyTorch:

    tests/fixtures/ops.safetensors    -- one small case per op (forward + backward)
    tests/fixtures/block.safetensors  -- one pre-norm LLaMA-style block + CE loss

Rerun from the repository root with

    /usr/bin/python3 tests/reference/make_fixtures.py

(Debian's python3-torch; no other package needed.)  The script is fully
deterministic: torch.manual_seed(0) once at the start, then every random tensor
is drawn in a fixed order (the order of the code below).

Numerics
--------
Every random float input is drawn in float32 (including any offset/scale, e.g.
rand + 0.1 or 1 + 0.1 * randn, evaluated in float32) and then converted to
float64, so the stored (float32) inputs are *exactly* the values used.  All
forward and backward computation runs in float64; outputs and gradients are
rounded to float32 only when written.  Integer tensors (ids, targets, masks,
positions) are stored as I64.

File format
-----------
Standard safetensors, written with the stdlib: u64 little-endian header length
N, N bytes of UTF-8 JSON (padded with spaces so N % 8 == 0), then the raw
little-endian row-major data, tensors packed in the order they are listed in
the header.  dtype "F32" or "I64".  A 0-dim tensor has shape [].
"__metadata__" = {"generator": "tests/reference/make_fixtures.py",
"torch": <torch version>}.

ops.safetensors
---------------
For a case named C: inputs C.in0, C.in1, ...; output C.out; upstream gradient
C.gout (randn, same shape as C.out, drawn right after the inputs of the case);
C.gradK = d loss / d C.inK for every FLOAT input K, where
loss = sum(C.out * C.gout).  Integer/mask inputs get no grad entry.
Multi-output cases (split) use C.out0, C.out1, C.gout0, C.gout1 and
loss = sum(out0 * gout0) + sum(out1 * gout1).
Unless said otherwise an input is randn of the given shape.

  matmul        in0 [2,3,4,5], in1 [5,6]; out = in0 @ in1            -> [2,3,4,6]
  matmul_bcast  in0 [2,1,4,5], in1 [3,5,6]; out = in0 @ in1          -> [2,3,4,6]
  matmul_tt     in0 [3,5,4], in1 [3,6,5];
                out = in0.transpose(-1,-2) @ in1.transpose(-1,-2)    -> [3,4,6]
  add/sub/mul   in0 [3,1,5], in1 [4,5]; out = in0 (+ - *) in1         -> [3,4,5]
  div           in0 [3,1,5] randn, in1 [4,5] = rand + 0.5; out = in0 / in1
  unary, in0 [4,7] randn, out same shape:
    neg         -x
    exp         exp(x)
    tanh        tanh(x)
    sigmoid     1 / (1 + exp(-x))
    relu        max(x, 0)                         (|x| >= 1e-3 guaranteed)
    gelu_erf    x * 0.5 * (1 + erf(x / sqrt(2)))  (F.gelu, approximate='none')
    gelu_tanh   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
                                                  (F.gelu, approximate='tanh')
    silu        x * sigmoid(x)
    abs         |x|                               (|x| >= 1e-3 guaranteed)
    sign        sign(x), grad0 is all zeros       (|x| >= 1e-3 guaranteed)
  positive unary, in0 [4,7] = rand + 0.1:
    log         log(x)
    sqrt        sqrt(x)
    rsqrt       1 / sqrt(x)
    pow         x ** 2.5
  sum_keepdim   in0 [3,4,5]; out = in0.sum(dim=(0,2), keepdim=True)  -> [1,4,1]
  sum_all       in0 [3,4];   out = in0.sum()                         -> [] (0-dim)
  mean          in0 [3,4,5]; out = in0.mean(dim=1)                   -> [3,5]
  max           in0 [3,4,5]; out = torch.amax(in0, dim=2)            -> [3,4]
                (no ties along dim 2, so grad goes to the single argmax)
  softmax       in0 [3,5,4]; out = softmax(in0, dim=1)
  log_softmax   in0 [4,7];   out = log_softmax(in0, dim=-1)
  cross_entropy in0 logits [6,5]; in1 targets I64 [6] in [0,5) with
                in1[1] = in1[4] = -100;
                out = F.cross_entropy(in0, in1, ignore_index=-100)
                    = mean over the 4 non-ignored rows of
                      (logsumexp(in0[r]) - in0[r, in1[r]])           -> [] (0-dim)
                grad0 only.
  embedding     in0 weight [10,4]; in1 ids I64 [2,3] in [0,10) with
                in1[1,2] == in1[0,0] (a repeated id);
                out = in0[in1]                                       -> [2,3,4]
                grad0 = weight gradient (rows of repeated ids accumulate,
                unused rows are zero).
  concat        in0 [2,3], in1 [2,4]; out = cat([in0, in1], dim=1)  -> [2,7]
  stack         in0 [2,3], in1 [2,3]; out = stack([in0, in1], dim=0) -> [2,2,3]
  split         in0 [2,7]; out0, out1 = split(in0, [3,4], dim=1)     -> [2,3], [2,4]
  where         in0 cond I64 [3,1] = [[1],[0],[1]]; in1 [3,4]; in2 [1,4];
                out = where(in0 != 0, in1, in2)                      -> [3,4]
                grads: where.grad1 [3,4], where.grad2 [1,4] (reduced over
                the broadcast dim).
  masked_fill   in0 [3,4]; in1 mask I64 [3,4] random 0/1 with in1[0,0] = 1 and
                in1[0,1] = 0 forced (so both values are present);
                out = in0.masked_fill(in1 != 0, -2.0); grad0 (zero where masked).
  rmsnorm       in0 x [2,3,8], in1 weight [8] randn; eps = 1e-5;
                out = x * rsqrt(mean(x^2, dim=-1, keepdim=True) + eps) * weight
  layernorm     in0 x [2,3,8], in1 weight [8], in2 bias [8] (all randn);
                eps = 1e-5; out = F.layer_norm(x, [8], weight, bias, eps)
                    = (x - mean) / sqrt(biased_var + eps) * weight + bias
  rope          in0 x [2,3,5,8] = [batch, heads, seq, head_dim D];
                in1 positions I64 [5] = [3,4,5,6,7]; theta = 10000.
                HF LLaMA rotate-half convention:
                  inv_freq = 1 / theta ** (arange(0, D, 2) / D)      [D/2]
                  freqs    = outer(pos, inv_freq)                    [T, D/2]
                  emb      = cat(freqs, freqs, dim=-1)               [T, D]
                  rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2], dim=-1)
                  out = x * cos(emb) + rotate_half(x) * sin(emb)
                (cos/sin broadcast over batch and heads.)  grad0 only.
  sdpa          in0 q, in1 k, in2 v, each [2,2,4,8] = [batch, heads, seq, hd];
                in3 padding mask I64 [2,4] = [[1,1,1,1],[0,1,1,1]]
                (1 = real token); causal.
                  scores = q @ k^T / sqrt(8)                         [B,H,T,T]
                  allowed[b,i,j] = (j <= i) and mask[b,j] != 0
                  scores = scores.masked_fill(~allowed, float32 min)
                           (float32 min = -3.4028234663852886e38, used as
                            fill value even in the float64 computation)
                  p = softmax(scores, -1); out = p @ v               [B,H,T,hd]
                Row b=1, i=0 has no allowed key: all its scores equal the fill
                value, so p is uniform (1/4) over all 4 keys and out is the
                mean of v over keys; no gradient flows to q or k from that row.
                grads 0, 1, 2.

  dropout       in0 [6,7], p = 0.3, generator seed 99, offset 0 (see case_dropout); the mask
                comes from an independent Python Philox4x32-10, checked against the Random123
                known-answer vector when the script runs.

block.safetensors
-----------------
Pre-norm LLaMA-style decoder block with cross-entropy loss.
B=2, T=6, d=16, H=4 heads, hd=4 (no grouped KV), ffn=32, V=11, eps=1e-5,
rope theta=10000, positions arange(T) for every row.

Inputs:  ids I64 [2,6] (uniform in [0,V));
         attention_mask I64 [2,6] = [[1,1,1,1,1,1],[0,0,1,1,1,1]] (left pad);
         labels I64 [2,6] uniform in [0,V), then set to -100 where
         attention_mask == 0 and at labels[0,3].
Weights (PyTorch Linear layout [out, in]; randn * 0.3, norms 1 + 0.1 * randn;
drawn in this order): embed [V,d], attn_norm [d], wq [d,d], wk [d,d], wv [d,d],
wo [d,d], mlp_norm [d], w_gate [ffn,d], w_up [ffn,d], w_down [d,ffn],
final_norm [d], lm_head [V,d].  (ids and labels are drawn after the weights.)

  rmsnorm(z, w) = z * rsqrt(mean(z^2, -1, keepdim) + eps) * w
  x = embed[ids]                                          [B,T,d]
  a = rmsnorm(x, attn_norm)
  q = a @ wq^T, k = a @ wk^T, v = a @ wv^T, each reshaped [B,T,H,hd] and
      transposed to [B,H,T,hd]
  q, k = rope(q), rope(k)       (as in ops "rope", positions arange(T))
  attn = sdpa(q, k, v, attention_mask)   (exactly as in ops "sdpa")
  o = attn.transpose(1,2).reshape(B,T,d) @ wo^T
  h = x + o
  m = rmsnorm(h, mlp_norm)
  f = (silu(m @ w_gate^T) * (m @ w_up^T)) @ w_down^T
  y = h + f
  logits = rmsnorm(y, final_norm) @ lm_head^T             [B,T,V]
  loss = F.cross_entropy(logits.reshape(-1,V), labels.reshape(-1),
                         ignore_index=-100)   (mean over non-ignored; no shift)

Outputs: logits [2,6,11], loss [] (0-dim); gradients of loss: grad.x (w.r.t.
x, the embedding output) and grad.<name> for every weight (grad.embed includes
only the path through the lookup; rows of ids not present are zero).
"""

import json
import math
import os
import struct

import torch
import torch.nn.functional as F

F64 = torch.float64
F32_MIN = torch.finfo(torch.float32).min

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures")


# ----------------------------------------------------------------------------
# safetensors writer (stdlib + torch only)
# ----------------------------------------------------------------------------

def write_safetensors(path, tensors):
    """tensors: list of (name, tensor). Floats stored as F32, integers as I64."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors:
        assert name not in header, name
        t = t.detach()
        if t.dtype.is_floating_point:
            dtype, data = "F32", t.to(torch.float32).contiguous().numpy().astype("<f4")
        else:
            dtype, data = "I64", t.to(torch.int64).contiguous().numpy().astype("<i8")
        raw = data.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"generator": "tests/reference/make_fixtures.py",
                              "torch": torch.__version__}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * (-len(hbytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for raw in blobs:
            f.write(raw)


# ----------------------------------------------------------------------------
# random inputs: drawn in float32, used in float64
# ----------------------------------------------------------------------------

def randn(*shape):
    return torch.randn(shape, dtype=torch.float32).to(F64)


def rand(*shape, offset=0.0):
    """torch.rand + offset, evaluated in float32 so the stored value is exact."""
    return (torch.rand(shape, dtype=torch.float32) + offset).to(F64)


def randn_away_from_zero(*shape, tol=1e-3):
    x = torch.randn(shape, dtype=torch.float32)
    while True:
        small = x.abs() < tol
        if not small.any():
            return x.to(F64)
        x[small] = torch.randn(int(small.sum()), dtype=torch.float32)


# ----------------------------------------------------------------------------
# shared building blocks (float64)
# ----------------------------------------------------------------------------

def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rope(x, positions, theta=10000.0):
    D = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, D, 2, dtype=F64) / D)
    freqs = torch.outer(positions.to(F64), inv_freq)          # [T, D/2]
    emb = torch.cat([freqs, freqs], dim=-1)                   # [T, D]
    return x * emb.cos() + rotate_half(x) * emb.sin()


def sdpa(q, k, v, pad_mask):
    T, hd = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)          # [B,H,T,T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()        # j <= i
    allowed = causal[None, :, :] & (pad_mask != 0)[:, None, :]  # [B,T,T]
    scores = scores.masked_fill(~allowed[:, None], F32_MIN)
    p = torch.softmax(scores, dim=-1)
    return p @ v


# ----------------------------------------------------------------------------
# ops cases: each returns (inputs, fn); fn(*inputs) -> tensor or tuple
# ----------------------------------------------------------------------------

def case_matmul():
    return [randn(2, 3, 4, 5), randn(5, 6)], lambda a, b: a @ b


def case_matmul_bcast():
    return [randn(2, 1, 4, 5), randn(3, 5, 6)], lambda a, b: a @ b


def case_matmul_tt():
    return [randn(3, 5, 4), randn(3, 6, 5)], \
        lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2)


def case_add():
    return [randn(3, 1, 5), randn(4, 5)], lambda a, b: a + b


def case_sub():
    return [randn(3, 1, 5), randn(4, 5)], lambda a, b: a - b


def case_mul():
    return [randn(3, 1, 5), randn(4, 5)], lambda a, b: a * b


def case_div():
    return [randn(3, 1, 5), rand(4, 5, offset=0.5)], lambda a, b: a / b


def unary(fn, draw=lambda: randn(4, 7)):
    return lambda: ([draw()], fn)


def positive():
    return rand(4, 7, offset=0.1)


def case_sum_keepdim():
    return [randn(3, 4, 5)], lambda a: a.sum(dim=(0, 2), keepdim=True)


def case_sum_all():
    return [randn(3, 4)], lambda a: a.sum()


def case_mean():
    return [randn(3, 4, 5)], lambda a: a.mean(dim=1)


def case_max():
    x = randn(3, 4, 5)
    s = x.sort(dim=2).values
    assert (s[..., 1:] != s[..., :-1]).all(), "tie in max input"
    return [x], lambda a: torch.amax(a, dim=2)


def case_softmax():
    return [randn(3, 5, 4)], lambda a: torch.softmax(a, dim=1)


def case_log_softmax():
    return [randn(4, 7)], lambda a: torch.log_softmax(a, dim=-1)


def case_cross_entropy():
    logits = randn(6, 5)
    targets = torch.randint(0, 5, (6,), dtype=torch.int64)
    targets[1] = -100
    targets[4] = -100
    return [logits, targets], \
        lambda a, t: F.cross_entropy(a, t, ignore_index=-100)


def case_embedding():
    weight = randn(10, 4)
    ids = torch.randint(0, 10, (2, 3), dtype=torch.int64)
    ids[1, 2] = ids[0, 0]
    return [weight, ids], lambda w, i: F.embedding(i, w)


def case_concat():
    return [randn(2, 3), randn(2, 4)], lambda a, b: torch.cat([a, b], dim=1)


def case_stack():
    return [randn(2, 3), randn(2, 3)], lambda a, b: torch.stack([a, b], dim=0)


def case_split():
    return [randn(2, 7)], lambda a: tuple(torch.split(a, [3, 4], dim=1))


def case_where():
    cond = torch.tensor([[1], [0], [1]], dtype=torch.int64)
    return [cond, randn(3, 4), randn(1, 4)], \
        lambda c, a, b: torch.where(c != 0, a, b)


def case_masked_fill():
    x = randn(3, 4)
    mask = torch.randint(0, 2, (3, 4), dtype=torch.int64)
    mask[0, 0], mask[0, 1] = 1, 0          # make sure both values are present
    return [x, mask], lambda a, m: a.masked_fill(m != 0, -2.0)


def case_rmsnorm():
    return [randn(2, 3, 8), randn(8)], lambda x, w: rmsnorm(x, w, 1e-5)


def case_layernorm():
    return [randn(2, 3, 8), randn(8), randn(8)], \
        lambda x, w, b: F.layer_norm(x, [8], w, b, 1e-5)


def case_rope():
    pos = torch.tensor([3, 4, 5, 6, 7], dtype=torch.int64)
    return [randn(2, 3, 5, 8), pos], lambda x, p: rope(x, p, 10000.0)


def case_sdpa():
    mask = torch.tensor([[1, 1, 1, 1], [0, 1, 1, 1]], dtype=torch.int64)
    return [randn(2, 2, 4, 8), randn(2, 2, 4, 8), randn(2, 2, 4, 8), mask], sdpa


OPS_CASES = [
    ("matmul", case_matmul),
    ("matmul_bcast", case_matmul_bcast),
    ("matmul_tt", case_matmul_tt),
    ("add", case_add),
    ("sub", case_sub),
    ("mul", case_mul),
    ("div", case_div),
    ("neg", unary(torch.neg)),
    ("exp", unary(torch.exp)),
    ("tanh", unary(torch.tanh)),
    ("sigmoid", unary(torch.sigmoid)),
    ("relu", unary(torch.relu, lambda: randn_away_from_zero(4, 7))),
    ("gelu_erf", unary(lambda x: F.gelu(x, approximate="none"))),
    ("gelu_tanh", unary(lambda x: F.gelu(x, approximate="tanh"))),
    ("silu", unary(F.silu)),
    ("abs", unary(torch.abs, lambda: randn_away_from_zero(4, 7))),
    ("sign", unary(torch.sign, lambda: randn_away_from_zero(4, 7))),
    ("log", unary(torch.log, positive)),
    ("sqrt", unary(torch.sqrt, positive)),
    ("rsqrt", unary(torch.rsqrt, positive)),
    ("pow", unary(lambda x: x ** 2.5, positive)),
    ("sum_keepdim", case_sum_keepdim),
    ("sum_all", case_sum_all),
    ("mean", case_mean),
    ("max", case_max),
    ("softmax", case_softmax),
    ("log_softmax", case_log_softmax),
    ("cross_entropy", case_cross_entropy),
    ("embedding", case_embedding),
    ("concat", case_concat),
    ("stack", case_stack),
    ("split", case_split),
    ("where", case_where),
    ("masked_fill", case_masked_fill),
    ("rmsnorm", case_rmsnorm),
    ("layernorm", case_layernorm),
    ("rope", case_rope),
    ("sdpa", case_sdpa),
]


def run_case(name, make):
    inputs, fn = make()
    leaves = [t.clone().requires_grad_(True) if t.dtype == F64 else t for t in inputs]
    out = fn(*leaves)
    multi = isinstance(out, tuple)
    outs = list(out) if multi else [out]
    gouts = [randn(*o.shape) for o in outs]
    loss = sum((o * g).sum() for o, g in zip(outs, gouts))
    float_idx = [i for i, t in enumerate(leaves) if t.dtype == F64]
    grads = torch.autograd.grad(loss, [leaves[i] for i in float_idx], allow_unused=True)

    entries = [(f"{name}.in{i}", t) for i, t in enumerate(inputs)]
    if multi:
        entries += [(f"{name}.out{j}", o) for j, o in enumerate(outs)]
        entries += [(f"{name}.gout{j}", g) for j, g in enumerate(gouts)]
    else:
        entries += [(f"{name}.out", outs[0]), (f"{name}.gout", gouts[0])]
    for i, g in zip(float_idx, grads):
        if g is None:
            g = torch.zeros_like(leaves[i])
        entries.append((f"{name}.grad{i}", g))
    return entries


def make_ops():
    entries = []
    for name, make in OPS_CASES:
        entries += run_case(name, make)
    return entries


# ----------------------------------------------------------------------------
# block
# ----------------------------------------------------------------------------

B, T, D_MODEL, HEADS, FFN, VOCAB, EPS = 2, 6, 16, 4, 32, 11, 1e-5
HEAD_DIM = D_MODEL // HEADS

WEIGHT_SHAPES = [
    ("embed", (VOCAB, D_MODEL)),
    ("attn_norm", (D_MODEL,)),
    ("wq", (D_MODEL, D_MODEL)),
    ("wk", (D_MODEL, D_MODEL)),
    ("wv", (D_MODEL, D_MODEL)),
    ("wo", (D_MODEL, D_MODEL)),
    ("mlp_norm", (D_MODEL,)),
    ("w_gate", (FFN, D_MODEL)),
    ("w_up", (FFN, D_MODEL)),
    ("w_down", (D_MODEL, FFN)),
    ("final_norm", (D_MODEL,)),
    ("lm_head", (VOCAB, D_MODEL)),
]


def block_inputs():
    weights = {}
    for name, shape in WEIGHT_SHAPES:
        r = torch.randn(shape, dtype=torch.float32)
        w = 1 + 0.1 * r if name.endswith("norm") else r * 0.3
        weights[name] = w.to(F64)               # value rounded to float32 first
    ids = torch.randint(0, VOCAB, (B, T), dtype=torch.int64)
    attention_mask = torch.ones(B, T, dtype=torch.int64)
    attention_mask[1, :2] = 0
    labels = torch.randint(0, VOCAB, (B, T), dtype=torch.int64)
    labels[attention_mask == 0] = -100
    labels[0, 3] = -100
    return ids, attention_mask, labels, weights


def block_forward(ids, attention_mask, labels, w):
    x = F.embedding(ids, w["embed"])
    x.retain_grad()
    a = rmsnorm(x, w["attn_norm"], EPS)

    def heads(z):
        return z.reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)

    q, k, v = heads(a @ w["wq"].T), heads(a @ w["wk"].T), heads(a @ w["wv"].T)
    pos = torch.arange(T, dtype=torch.int64)
    q, k = rope(q, pos), rope(k, pos)
    attn = sdpa(q, k, v, attention_mask)
    o = attn.transpose(1, 2).reshape(B, T, D_MODEL) @ w["wo"].T
    h = x + o
    m = rmsnorm(h, w["mlp_norm"], EPS)
    f = (F.silu(m @ w["w_gate"].T) * (m @ w["w_up"].T)) @ w["w_down"].T
    y = h + f
    logits = rmsnorm(y, w["final_norm"], EPS) @ w["lm_head"].T
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), labels.reshape(-1),
                           ignore_index=-100)
    return x, logits, loss


def make_block():
    ids, attention_mask, labels, weights = block_inputs()
    leaves = {n: t.clone().requires_grad_(True) for n, t in weights.items()}
    x, logits, loss = block_forward(ids, attention_mask, labels, leaves)
    loss.backward()

    entries = [("ids", ids), ("attention_mask", attention_mask), ("labels", labels)]
    entries += [(n, weights[n]) for n, _ in WEIGHT_SHAPES]
    entries += [("logits", logits), ("loss", loss), ("grad.x", x.grad)]
    entries += [(f"grad.{n}", leaves[n].grad) for n, _ in WEIGHT_SHAPES]
    return entries


# ----------------------------------------------------------------------------
# dropout: an independent Philox4x32-10 (Salmon et al., SC'11) in Python integers
# ----------------------------------------------------------------------------
def philox4x32_10(key, counter):
    """The four 32-bit words of Philox4x32-10 for a 64-bit key and the counter (counter, 0, 0, 0)."""
    m = 0xFFFFFFFF
    c = [counter & m, (counter >> 32) & m, 0, 0]
    k = [key & m, (key >> 32) & m]
    for _ in range(10):
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k[0]) & m, p1 & m, ((p0 >> 32) ^ c[3] ^ k[1]) & m, p0 & m]
        k = [(k[0] + 0x9E3779B9) & m, (k[1] + 0xBB67AE85) & m]
    return c


def case_dropout():
    """dropout(x, p=0.3) with a generator seeded 99 at offset 0, f32: element i is kept when
    u_i = (philox(99, i)[0] >> 8) * 2^-24 >= p, and scaled by 1/(1-p).  Inputs are drawn from a
    generator of their own so that the other fixtures do not change."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 7, generator=g, dtype=torch.float32).to(F64)
    gout = torch.randn(6, 7, generator=g, dtype=torch.float32).to(F64)
    p, seed = 0.3, 99
    u = torch.tensor([(philox4x32_10(seed, i)[0] >> 8) * 2.0 ** -24 for i in range(x.numel())], dtype=F64)
    mask = (u >= p).to(F64).reshape(x.shape) / (1 - p)
    leaf = x.clone().requires_grad_(True)
    out = leaf * mask
    (grad,) = torch.autograd.grad((out * gout).sum(), [leaf])
    return [("dropout.in0", x), ("dropout.out", out), ("dropout.gout", gout), ("dropout.grad0", grad)]


def main():
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    ops = make_ops()
    block = make_block()
    ops += case_dropout()
    for fname, entries in (("ops.safetensors", ops), ("block.safetensors", block)):
        path = os.path.join(OUT_DIR, fname)
        write_safetensors(path, entries)
        print(f"wrote {os.path.relpath(path, REPO_ROOT)}: {len(entries)} tensors, "
              f"{os.path.getsize(path)} bytes")


if __name__ == "__main__":
    # Random123 known-answer vector for philox4x32-10, key 0, counter 0
    assert philox4x32_10(0, 0) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    main()
