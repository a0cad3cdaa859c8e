"""PyTorch's bf16 computation of the llama-tied fixture, the reference for iapt's `compute: bf16`.

Reads tests/fixtures/llama-tied/ (BF16 weights) and llama-tied-io.safetensors (its inputs, and
logits computed in float64), and writes tests/fixtures/llama-tied-bf16-io.safetensors:

    logits F32 [2, 7, V]              the forward computed in bf16 as Hugging Face's modeling_llama
                                      does with torch_dtype=bfloat16, then widened (logits.float())
    grad.inputs_embeds F32 [2, 7, d]  the gradient of the io file's loss (cross-entropy of the
                                      widened logits[:, :-1] against labels[:, 1:]) with respect to
                                      x, where the forward reads x.to(bfloat16)

How Hugging Face computes in bf16 (transformers' modeling_llama.py, eager attention):
  RMSNorm: widened to f32, z * rsqrt(mean(z^2) + eps), rounded to bf16, times the bf16 weight;
  RoPE: cos and sin computed in f32 and rounded to bf16, then q cos + rotate_half(q) sin in bf16;
  attention: q k^T / sqrt(hd) in bf16, masked with the dtype's lowest value, softmax computed in
  f32 and rounded to bf16, then @ v in bf16; every projection a bf16 matmul (f32 accumulation);
  the MLP's silu(gate) * up in bf16; the residual adds in bf16.

Rerun from the repository root with  /usr/bin/python3 tests/reference/make_bf16_fixtures.py
(Debian's python3-torch), after make_llama_fixtures.py.
"""

import json
import os

import torch

import make_llama_fixtures
from make_llama_fixtures import OUT_DIR, read_safetensors, write_safetensors

BF16 = torch.bfloat16


def rmsnorm(z, w, eps):
    h = z.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(BF16)


def rope(x, theta):
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d)
    freqs = torch.outer(torch.arange(x.shape[-2], dtype=torch.float32), inv_freq)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos().to(BF16), emb.sin().to(BF16)
    rot = torch.cat([-x[..., d // 2:], x[..., : d // 2]], -1)
    return x * cos + rot * sin


def softmax(s):
    return torch.softmax(s, -1, dtype=torch.float32).to(BF16)


def forward(w, cfg, x, mask):
    return make_llama_fixtures.forward(w, cfg, x, mask, rmsnorm=rmsnorm, rope=rope, softmax=softmax,
                                       mask_value=torch.finfo(BF16).min)


def main():
    name = "llama-tied"
    folder = os.path.join(OUT_DIR, name)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = {}
    for file in sorted(os.listdir(folder)):
        if file.endswith(".safetensors"):
            w.update(read_safetensors(os.path.join(folder, file)))
    assert all(t.dtype == BF16 for t in w.values()), "llama-tied is stored in bf16"
    io = read_safetensors(os.path.join(OUT_DIR, f"{name}-io.safetensors"))
    ids, mask, labels = io["ids"], io["attention_mask"], io["labels"]
    v = cfg["vocab_size"]
    x = w["model.embed_tokens.weight"][ids].float().requires_grad_(True)
    logits = forward(w, cfg, x.to(BF16), mask).float()
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1),
                                             ignore_index=-100)
    (grad_x,) = torch.autograd.grad(loss, [x])
    write_safetensors(os.path.join(OUT_DIR, f"{name}-bf16-io.safetensors"),
                      [("logits", logits.detach()), ("grad.inputs_embeds", grad_x.float())],
                      {"generator": "tests/reference/make_bf16_fixtures.py", "torch": torch.__version__})
    err = ((logits.detach().double() - io["logits"].double()).norm() / io["logits"].double().norm()).item()
    print(f"wrote tests/fixtures/{name}-bf16-io.safetensors (logits {err:.2e} from the float64 ones, normwise)")


if __name__ == "__main__":
    main()
