"""Reference IAPT and LoRA in plain PyTorch, for checking `iapt grads`.

Writes, under tests/fixtures/peft/ (the backbone is tests/fixtures/llama-gqa, written by
make_llama_fixtures.py, which must run first):

    batch.safetensors                 input_ids, attention_mask (row 1 left-padded by two),
                                      instruction_mask (1 on instruction tokens), labels (-100 on
                                      padding and instruction tokens)
    iapt.yaml, iapt-init.safetensors, iapt-expected.safetensors
    lora.yaml, lora-init.safetensors, lora-expected.safetensors

The -expected files hold loss, logits and the gradient of the loss with respect to every tunable
parameter under its canonical name (README). Everything is computed in float64 from the stored
float32 values. Rerun from the repository root with
    /usr/bin/python3 tests/reference/make_peft_fixtures.py

IAPT, as written in docs/design.md (IAPT), at each generator layer l (here layers 0 and 1 of 2):
    H = hidden states entering layer l                      [B, T, d]
    Z = H @ down^T                                          [B, T, m]
    A = softmax over T of (Z @ query^T), non-instruction tokens filled with the f32 minimum
    P~ = A^T Z                                              [B, k, m]
    P = R(P~) @ up^T, R(x) = (a_0 + ... + a_6 x^6) / (1 + |b_1 x + ... + b_5 x^5|)   (version B)
    K_p = RoPE(k_proj(rmsnorm(P, input_layernorm)), positions 0..k-1), V_p = v_proj(rmsnorm(P, ...))
    the layer's attention keys are [K_p, K_text], values [V_p, V_text]; every text query sees all k
    prefix positions; text RoPE positions are k..k+T-1 (the text shifted by k), in every layer.
LoRA on all seven projections: y = x W^T + (alpha / r) (x A^T) B^T, r = 4, alpha = 8.
Loss: cross-entropy of logits[:, :-1] against labels[:, 1:], mean over labels that are not -100.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_llama_fixtures import F32_MIN, OUT_DIR, read_safetensors, rmsnorm, write_safetensors  # noqa: E402

F64 = torch.float64
BACKBONE = os.path.join(OUT_DIR, "llama-gqa")
PEFT_DIR = os.path.join(OUT_DIR, "peft")


def rope(x, positions, theta):
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, dtype=F64) / d)
    freqs = torch.outer(positions.to(F64), inv_freq)
    emb = torch.cat([freqs, freqs], -1)
    rot = torch.cat([-x[..., d // 2:], x[..., : d // 2]], -1)
    return x * emb.cos() + rot * emb.sin()


def rational_b(x, num, den):
    p = sum(num[j] * x ** j for j in range(len(num)))
    s = sum(den[i] * x ** (i + 1) for i in range(len(den)))
    return p / (1 + s.abs())


def linear(x, w, name, lora):
    y = x @ w[name].T
    if lora is not None and name in lora["targets"]:
        a, b = lora["params"][name + ".lora_A.weight"], lora["params"][name + ".lora_B.weight"]
        y = y + lora["scale"] * ((x @ a.T) @ b.T)
    return y


def forward(w, cfg, ids, mask, instruction, iapt=None, lora=None):
    b, t = ids.shape
    d, h, hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, theta, eps = d // h, cfg["rope_theta"], cfg["rms_norm_eps"]
    k = iapt["k"] if iapt else 0
    text_pos = torch.arange(t) + k
    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        a = rmsnorm(x, w[p + "input_layernorm.weight"], eps)
        q = rope(linear(a, w, p + "self_attn.q_proj.weight", lora).view(b, t, h, hd).transpose(1, 2), text_pos, theta)
        kk = rope(linear(a, w, p + "self_attn.k_proj.weight", lora).view(b, t, hkv, hd).transpose(1, 2), text_pos, theta)
        v = linear(a, w, p + "self_attn.v_proj.weight", lora).view(b, t, hkv, hd).transpose(1, 2)
        allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None] & (mask[:, None, None, :] != 0)
        if iapt and l in iapt["layers"]:
            g = iapt["params"]
            pre = f"iapt.layers.{l}."
            z = x @ g[pre + "down.weight"].T                                   # [B, T, m]
            scores = (z @ g[pre + "pool.query"].T).masked_fill((instruction == 0)[:, :, None], F32_MIN)
            attn = torch.softmax(scores, dim=1)                                # over T
            pooled = attn.transpose(1, 2) @ z                                  # [B, k, m]
            soft = rational_b(pooled, g[pre + "act.numerator"], g[pre + "act.denominator"]) @ g[pre + "up.weight"].T
            ap = rmsnorm(soft, w[p + "input_layernorm.weight"], eps)
            kp = rope((ap @ w[p + "self_attn.k_proj.weight"].T).view(b, k, hkv, hd).transpose(1, 2), torch.arange(k), theta)
            vp = (ap @ w[p + "self_attn.v_proj.weight"].T).view(b, k, hkv, hd).transpose(1, 2)
            kk = torch.cat([kp, kk], 2)
            v = torch.cat([vp, v], 2)
            allowed = torch.cat([torch.ones(b, 1, t, k, dtype=torch.bool), allowed], -1)
        kk = kk.repeat_interleave(h // hkv, dim=1)
        v = v.repeat_interleave(h // hkv, dim=1)
        s = ((q @ kk.transpose(-1, -2)) / math.sqrt(hd)).masked_fill(~allowed, F32_MIN)
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + linear(o, w, p + "self_attn.o_proj.weight", lora)
        m = rmsnorm(x, w[p + "post_attention_layernorm.weight"], eps)
        f = torch.nn.functional.silu(linear(m, w, p + "mlp.gate_proj.weight", lora)) * linear(m, w, p + "mlp.up_proj.weight", lora)
        x = x + linear(f, w, p + "mlp.down_proj.weight", lora)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return rmsnorm(x, w["model.norm.weight"], eps) @ head.T


def loss_of(logits, labels):
    v = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1), ignore_index=-100)


def f32_params(shapes, scale):
    """Random parameters drawn in float32 (the stored values), then used in float64."""
    return {name: (torch.randn(*shape, dtype=torch.float32) * s) for (name, shape), s in zip(shapes, scale)}


def run(name, cfg, w, batch, method_yaml, params32, iapt=None, lora=None):
    leaves = {n: t.to(F64).clone().requires_grad_(True) for n, t in params32.items()}
    if iapt:
        iapt["params"] = leaves
    if lora:
        lora["params"] = leaves
    logits = forward(w, cfg, batch["input_ids"], batch["attention_mask"], batch["instruction_mask"], iapt, lora)
    loss = loss_of(logits, batch["labels"])
    names = list(leaves)
    grads = torch.autograd.grad(loss, [leaves[n] for n in names])
    write_safetensors(os.path.join(PEFT_DIR, f"{name}-init.safetensors"), list(params32.items()))
    write_safetensors(os.path.join(PEFT_DIR, f"{name}-expected.safetensors"),
                      [("loss", loss.detach().float()), ("logits", logits.detach().float())] +
                      [(n, g.float()) for n, g in zip(names, grads)],
                      {"generator": "tests/reference/make_peft_fixtures.py", "torch": torch.__version__})
    with open(os.path.join(PEFT_DIR, f"{name}.yaml"), "w") as f:
        f.write(f"# written by tests/reference/make_peft_fixtures.py\nbackbone:\n  path: ../llama-gqa\nmethod:\n{method_yaml}")
    print(f"wrote tests/fixtures/peft/{name}.* (loss {loss.item():.6f}, {len(names)} parameters)")


def main():
    torch.manual_seed(7)
    os.makedirs(PEFT_DIR, exist_ok=True)
    with open(os.path.join(BACKBONE, "config.json")) as f:
        cfg = json.load(f)
    w = {n: t.to(F64) for n, t in read_safetensors(os.path.join(BACKBONE, "model.safetensors")).items()}
    d, v, layers = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]

    ids = torch.randint(3, v, (2, 8), dtype=torch.int64)
    mask = torch.ones(2, 8, dtype=torch.int64)
    mask[1, :2] = 0
    ids[1, :2] = 0
    instruction = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1, 0, 0]], dtype=torch.int64)
    labels = ids.masked_fill((mask == 0) | (instruction == 1), -100)
    batch = {"input_ids": ids, "attention_mask": mask, "instruction_mask": instruction, "labels": labels}
    write_safetensors(os.path.join(PEFT_DIR, "batch.safetensors"), list(batch.items()))

    k, m = 3, 8
    shapes, scales = [], []
    for l in range(layers):
        pre = f"iapt.layers.{l}."
        shapes += [(pre + "down.weight", (m, d)), (pre + "pool.query", (k, m)), (pre + "act.numerator", (7,)),
                   (pre + "act.denominator", (5,)), (pre + "up.weight", (d, m))]
        scales += [0.3, 0.5, 0.3, 0.3, 0.3]
    iapt_params = f32_params(shapes, scales)
    run("iapt", cfg, w, batch,
        "  name: iapt\n  soft_tokens: 3\n  bottleneck: 8\n  layers: [0, 1]\n  pooler: attention\n"
        "  activation: {kind: rational, version: B, degrees: [6, 5], init: gelu}\n",
        iapt_params, iapt={"k": k, "layers": list(range(layers))})

    r, alpha = 4, 8.0
    targets, shapes = [], []
    kv = cfg["num_key_value_heads"] * (d // cfg["num_attention_heads"])
    ffn = cfg["intermediate_size"]
    for l in range(layers):
        for proj, (din, dout) in [("self_attn.q_proj", (d, d)), ("self_attn.k_proj", (d, kv)), ("self_attn.v_proj", (d, kv)),
                                  ("self_attn.o_proj", (d, d)), ("mlp.gate_proj", (d, ffn)), ("mlp.up_proj", (d, ffn)),
                                  ("mlp.down_proj", (ffn, d))]:
            base = f"model.layers.{l}.{proj}"
            targets.append(base + ".weight")
            shapes += [(base + ".weight.lora_A.weight", (r, din)), (base + ".weight.lora_B.weight", (dout, r))]
    lora_params = f32_params(shapes, [0.2] * len(shapes))
    # canonical names drop the projection's ".weight": model.layers.0.self_attn.q_proj.lora_A.weight
    lora_params = {n.replace(".weight.lora_", ".lora_"): t for n, t in lora_params.items()}
    run_lora(cfg, w, batch, lora_params, {"targets": set(targets), "scale": alpha / r})


def run_lora(cfg, w, batch, lora_params, lora):
    leaves = {n: t.to(F64).clone().requires_grad_(True) for n, t in lora_params.items()}
    # map "<proj>.weight.lora_X.weight" (what linear() asks for) to the canonical leaves
    lora["params"] = {n.replace(".lora_", ".weight.lora_"): t for n, t in leaves.items()}
    logits = forward(w, cfg, batch["input_ids"], batch["attention_mask"], batch["instruction_mask"], None, lora)
    loss = loss_of(logits, batch["labels"])
    names = list(leaves)
    grads = torch.autograd.grad(loss, [leaves[n] for n in names])
    write_safetensors(os.path.join(PEFT_DIR, "lora-init.safetensors"), list(lora_params.items()))
    write_safetensors(os.path.join(PEFT_DIR, "lora-expected.safetensors"),
                      [("loss", loss.detach().float()), ("logits", logits.detach().float())] +
                      [(n, g.float()) for n, g in zip(names, grads)],
                      {"generator": "tests/reference/make_peft_fixtures.py", "torch": torch.__version__})
    with open(os.path.join(PEFT_DIR, "lora.yaml"), "w") as f:
        f.write("# written by tests/reference/make_peft_fixtures.py\nbackbone:\n  path: ../llama-gqa\nmethod:\n"
                "  name: lora\n  r: 4\n  alpha: 8\n  targets: [q, k, v, o, gate, up, down]\n")
    print(f"wrote tests/fixtures/peft/lora.* (loss {loss.item():.6f}, {len(names)} parameters)")


if __name__ == "__main__":
    main()
