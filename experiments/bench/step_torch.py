"""The PyTorch twin of iapt_bench_step: one training step of IAPT, LoRA or full fine-tuning on a
randomly initialised LLaMA-architecture model, written as a PyTorch user would (the eager
LLaMA of Hugging Face transformers: additive attention mask, repeat_kv, rotate_half RoPE), f32
or under bf16 autocast (--autocast bf16), the same shapes, inputs and thread count, subnormals
flushed to zero as iapt flushes them (--denormals keep for IEEE arithmetic). Prints one JSON
line like `iapt_bench_step --json`, with the BLAS library PyTorch loaded.

    /usr/bin/python3 experiments/bench/step_torch.py --method iapt --shape en-llama-6m

Refuses to run on OpenBLAS's pthreads build: its threads and PyTorch's OpenMP threads then fight
over the cores, and PyTorch runs at a fraction of its speed (Debian's alternatives pick that build
whenever it is installed; scripts/install-deps.sh installs the OpenMP one). OpenBLAS reads
OPENBLAS_CORETYPE as it loads: scripts/bench-step.sh sets it to the kernels iapt's OpenBLAS runs.
"""

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # experiments/bench/step_flops.h
    "en-llama-6m": dict(vocab=8192, d=256, ffn=688, layers=6, heads=8, kv_heads=4),
    "d512": dict(vocab=8192, d=512, ffn=1376, layers=8, heads=8, kv_heads=8),
}


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_tables(positions, hd, theta=10000.0):
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    freqs = torch.outer(positions.float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[None, None], emb.sin()[None, None]  # [1, 1, T, hd]


class LoraLinear(nn.Module):
    """y = x W^T + (alpha / r) (x A^T) B^T, W frozen (PEFT's LoRA layer)."""

    def __init__(self, base, r=4, alpha=8):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scale


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def split(self, x, heads):
        b, t, _ = x.shape
        return x.view(b, t, heads, self.hd).transpose(1, 2)

    def forward(self, x, cos, sin, mask, prefix=None):
        b, t, d = x.shape
        q = self.split(self.q_proj(x), self.heads)
        k = self.split(self.k_proj(x), self.kv_heads)
        v = self.split(self.v_proj(x), self.kv_heads)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if prefix is not None:
            k = torch.cat([prefix[0], k], dim=2)
            v = torch.cat([prefix[1], v], dim=2)
        rep = self.heads // self.kv_heads
        if rep > 1:  # repeat_kv
            k = k[:, :, None].expand(b, self.kv_heads, rep, k.shape[2], self.hd).reshape(b, self.heads, k.shape[2], self.hd)
            v = v[:, :, None].expand(b, self.kv_heads, rep, v.shape[2], self.hd).reshape(b, self.heads, v.shape[2], self.hd)
        scores = q @ k.transpose(2, 3) / math.sqrt(self.hd) + mask
        probs = torch.softmax(scores, dim=-1)
        return self.o_proj((probs @ v).transpose(1, 2).reshape(b, t, d))


class Layer(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.input_layernorm = RMSNorm(s["d"])
        self.self_attn = Attention(s["d"], s["heads"], s["kv_heads"])
        self.post_attention_layernorm = RMSNorm(s["d"])
        self.gate_proj = nn.Linear(s["d"], s["ffn"], bias=False)
        self.up_proj = nn.Linear(s["d"], s["ffn"], bias=False)
        self.down_proj = nn.Linear(s["ffn"], s["d"], bias=False)

    def forward(self, x, cos, sin, mask, prefix=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, prefix)
        m = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(m)) * self.up_proj(m))


class Generator(nn.Module):
    """IAPT at one layer: attention pooling of the instruction, down, rational (B, (6, 5)), up."""

    def __init__(self, d, k=4, m=32):
        super().__init__()
        self.down = nn.Linear(d, m, bias=False)
        self.query = nn.Parameter(torch.randn(k, m) * 0.02)
        self.numerator = nn.Parameter(torch.randn(7) * 0.1)
        self.denominator = nn.Parameter(torch.randn(5) * 0.1)
        self.up = nn.Linear(m, d, bias=False)

    def rational(self, x):
        p = self.numerator[6]
        for a in reversed(self.numerator[:6]):
            p = p * x + a
        q = self.denominator[4]
        for b in reversed(self.denominator[:4]):
            q = q * x + b
        return p / (1 + (q * x).abs())

    def forward(self, h, instruction):
        z = self.down(h)                                                    # [B, T, m]
        scores = (z @ self.query.T).masked_fill(~instruction[:, :, None], torch.finfo(z.dtype).min)
        pooled = torch.softmax(scores, dim=1).transpose(1, 2) @ z           # [B, k, m]
        return self.up(self.rational(pooled))                               # [B, k, d]


class Model(nn.Module):
    def __init__(self, s, method):
        super().__init__()
        self.s = s
        self.embed_tokens = nn.Embedding(s["vocab"], s["d"])
        self.layers = nn.ModuleList([Layer(s) for _ in range(s["layers"])])
        self.norm = RMSNorm(s["d"])
        for p in self.parameters():
            p.requires_grad_(method == "full")
        self.k = 4 if method == "iapt" else 0
        if method == "iapt":
            self.generators = nn.ModuleList([Generator(s["d"], self.k) for _ in range(s["layers"])])
        if method == "lora":
            for layer in self.layers:
                for owner, name in [(layer.self_attn, "q_proj"), (layer.self_attn, "k_proj"), (layer.self_attn, "v_proj"),
                                    (layer.self_attn, "o_proj"), (layer, "gate_proj"), (layer, "up_proj"), (layer, "down_proj")]:
                    setattr(owner, name, LoraLinear(getattr(owner, name)))

    def forward(self, ids, instruction):
        b, t = ids.shape
        hd = self.s["d"] // self.s["heads"]
        x = self.embed_tokens(ids)
        cos, sin = rope_tables(torch.arange(t) + self.k, hd)
        causal = torch.full((t, t), torch.finfo(x.dtype).min).triu(1)
        mask = torch.cat([torch.zeros(t, self.k), causal], dim=1)[None, None]  # prefix seen by every token
        pcos, psin = rope_tables(torch.arange(self.k), hd)
        for i, layer in enumerate(self.layers):
            prefix = None
            if self.k:
                p = layer.input_layernorm(self.generators[i](x, instruction))
                attn = layer.self_attn
                kp = attn.split(attn.k_proj(p), attn.kv_heads)
                prefix = (kp * pcos + rotate_half(kp) * psin, attn.split(attn.v_proj(p), attn.kv_heads))
            x = layer(x, cos, sin, mask, prefix)
        return self.norm(x)

    def logits(self, hidden):
        return F.linear(hidden, self.embed_tokens.weight)  # tied head


def loaded_blas():
    """The BLAS libraries this process has mapped (resolved), after one product has run."""
    torch.ones(8, 8) @ torch.ones(8, 8)
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(os.path.realpath(p) for p in paths)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", choices=["iapt", "lora", "full"], default="iapt")
    ap.add_argument("--shape", choices=list(SHAPES), default="en-llama-6m")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--response", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--head", choices=["all", "response"], default="all",
                    help="logits at every position (Hugging Face's LlamaForCausalLM) or only where a label is")
    ap.add_argument("--denormals", choices=["flush", "keep"], default="flush",
                    help="torch.set_flush_denormal, as iapt flushes them by default (IAPT_DENORMALS)")
    ap.add_argument("--autocast", choices=["none", "bf16"], default="none",
                    help="forward under torch.autocast('cpu', torch.bfloat16), as a PyTorch user trains in bf16")
    a = ap.parse_args()
    blas = loaded_blas()
    parallel = [l.split(":", 1)[1].strip() for l in torch.__config__.parallel_info().splitlines()
                if l.startswith("ATen parallel backend")]
    if any("pthread" in p for p in blas) and "OpenMP" in parallel:
        sys.exit(f"step_torch.py: PyTorch loaded OpenBLAS's pthreads build ({', '.join(blas)}) beside its OpenMP "
                 "threads; the two fight over the cores. Install libopenblas-openmp-dev and select it "
                 "(update-alternatives --config libblas.so.3-x86_64-linux-gnu)")
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(a.denormals == "flush")
    torch.manual_seed(1)
    s = SHAPES[a.shape]
    model = Model(s, a.method)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, s["vocab"], (a.batch, a.seq))
    instruction = torch.arange(a.seq)[None].expand(a.batch, a.seq) < a.seq - a.response
    labels = ids.masked_fill(instruction, -100)

    autocast = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.autocast == "bf16"
                else contextlib.nullcontext)
    fwd, bwd, upd = [], [], []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        with autocast():
            hidden = model(ids, instruction)
            if a.head == "all":
                logits = model.logits(hidden)
                loss = F.cross_entropy(logits[:, :-1].reshape(-1, s["vocab"]), labels[:, 1:].reshape(-1),
                                       ignore_index=-100)
            else:  # the positions that predict a label, as iapt's response loss does
                keep = labels[:, 1:] != -100
                loss = F.cross_entropy(model.logits(hidden[:, :-1][keep]), labels[:, 1:][keep])
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        if step >= a.warmup:
            fwd.append(t1 - t0), bwd.append(t2 - t1), upd.append(t3 - t2)
    f, b, u = statistics.median(fwd), statistics.median(bwd), statistics.median(upd)
    print(json.dumps({"framework": "pytorch " + torch.__version__, "method": a.method, "shape": a.shape, "head": a.head,
                      "batch": a.batch, "seq": a.seq, "trainable": sum(p.numel() for p in params),
                      "threads": torch.get_num_threads(), "forward_ms": f * 1e3, "backward_ms": b * 1e3,
                      "optimizer_ms": u * 1e3, "step_ms": (f + b + u) * 1e3,
                      "tokens_per_s": a.batch * a.seq / (f + b + u), "autocast": a.autocast, "denormals": a.denormals, "blas": blas,
                      "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")}))


if __name__ == "__main__":
    main()
