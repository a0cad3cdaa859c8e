"""Reference LLaMA checkpoints and outputs for the C++ loader and decoder.

Writes, under tests/fixtures/:

    llama-gqa/    config.json + model.safetensors (F32, one file): grouped key/value heads
                  (4 query heads, 2 key/value heads), untied lm_head
    llama-tied/   config.json + model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
                  (BF16, two shards): tied embeddings, rope_theta 500000, rms_norm_eps 1e-6
    llama-gqa-io.safetensors, llama-tied-io.safetensors: inputs and expected outputs

Rerun from the repository root with  /usr/bin/python3 tests/reference/make_llama_fixtures.py
(Debian's python3-torch; the Hugging Face transformers package is not needed: the model below is
written out in plain torch, following modeling_llama.py).

The model (Hugging Face LlamaForCausalLM, names as in its state dict):
  x = embed_tokens[ids]
  each layer:  h = x + o_proj(attn(input_layernorm(x)));  x = h + down(silu(gate(m)) * up(m)),
               m = post_attention_layernorm(h)
  attn: q, k, v projections split into heads; rotate-half RoPE on q and k at positions 0..T-1
        (theta from the config); key/value heads repeated to the query heads (head h reads
        key/value head h // (H / Hkv)); scores q k^T / sqrt(hd), masked_fill(~allowed, f32 min)
        where allowed[b, i, j] = j <= i and attention_mask[b, j]; softmax; weighted sum of v
  logits = norm(x) @ lm_head^T   (lm_head = embed_tokens when tied)
  rmsnorm(z, w) = z * rsqrt(mean(z^2, -1) + eps) * w
Everything is computed in float64 from the weights exactly as stored (BF16 weights are rounded to
bf16 first), then written as F32.

The -io files hold: ids I64 [2, 7]; attention_mask I64 [2, 7] (row 1 left-padded by two);
labels I64 [2, 7] (ids, -100 on padding); logits F32 [2, 7, V]; loss F32 [] = cross-entropy of
logits[:, :-1] against labels[:, 1:] (ignore -100, mean); grad.inputs_embeds F32 [2, 7, d], the
gradient of that loss with respect to x = embed_tokens[ids].
"""

import json
import math
import os
import struct

import torch

F64 = torch.float64
F32_MIN = torch.finfo(torch.float32).min
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures")

DTYPE_NAMES = {torch.float32: "F32", torch.float64: "F64", torch.bfloat16: "BF16", torch.float16: "F16",
               torch.int64: "I64"}


def write_safetensors(path, entries, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in entries:
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata or {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """name -> tensor for the F32, BF16 and I64 files this script writes."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = bytearray(data[b:e])
        if info["dtype"] == "BF16":
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype={"F32": torch.float32, "I64": torch.int64}[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def rmsnorm(z, w, eps):
    return z * torch.rsqrt((z * z).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, dtype=F64) / d)
    freqs = torch.outer(torch.arange(x.shape[-2], dtype=F64), inv_freq)
    emb = torch.cat([freqs, freqs], -1)
    rot = torch.cat([-x[..., d // 2:], x[..., : d // 2]], -1)
    return x * emb.cos() + rot * emb.sin()


def softmax(s):
    return torch.softmax(s, -1)


def forward(w, cfg, x, mask, rmsnorm=rmsnorm, rope=rope, softmax=softmax, mask_value=F32_MIN):
    """The model above; make_bf16_fixtures.py passes its bf16 forms of the norm, RoPE and softmax."""
    b, t, d = x.shape
    h, hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // h
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None] & (mask[:, None, None, :] != 0)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        a = rmsnorm(x, w[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = (a @ w[p + "self_attn.q_proj.weight"].T).view(b, t, h, hd).transpose(1, 2)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).view(b, t, hkv, hd).transpose(1, 2)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).view(b, t, hkv, hd).transpose(1, 2)
        q, k = rope(q, cfg["rope_theta"]), rope(k, cfg["rope_theta"])
        k = k.repeat_interleave(h // hkv, dim=1)
        v = v.repeat_interleave(h // hkv, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~allowed, mask_value)
        o = (softmax(s) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        m = rmsnorm(x, w[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        f = torch.nn.functional.silu(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)
        x = x + f @ w[p + "mlp.down_proj.weight"].T
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return rmsnorm(x, w["model.norm.weight"], cfg["rms_norm_eps"]) @ head.T


def make_weights(cfg, store_dtype):
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = d // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    shapes = [("model.embed_tokens.weight", (v, d), "w")]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes += [(p + "self_attn.q_proj.weight", (d, d), "w"), (p + "self_attn.k_proj.weight", (kv, d), "w"),
                   (p + "self_attn.v_proj.weight", (kv, d), "w"), (p + "self_attn.o_proj.weight", (d, d), "w"),
                   (p + "mlp.gate_proj.weight", (f, d), "w"), (p + "mlp.up_proj.weight", (f, d), "w"),
                   (p + "mlp.down_proj.weight", (d, f), "w"), (p + "input_layernorm.weight", (d,), "n"),
                   (p + "post_attention_layernorm.weight", (d,), "n")]
    shapes.append(("model.norm.weight", (d,), "n"))
    if not cfg["tie_word_embeddings"]:
        shapes.append(("lm_head.weight", (v, d), "w"))
    stored = {}
    for name, shape, kind in shapes:
        t = torch.randn(*shape, dtype=torch.float32)
        t = t * 0.2 if kind == "w" else 1.0 + 0.1 * t
        stored[name] = t.to(store_dtype)
    return stored


def make(name, cfg, store_dtype, shards):
    out = os.path.join(OUT_DIR, name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    stored = make_weights(cfg, store_dtype)
    names = list(stored)
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), [(n, stored[n]) for n in names])
    else:
        half = len(names) // 2
        parts = [names[:half], names[half:]]
        weight_map = {}
        for i, part in enumerate(parts):
            fname = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            write_safetensors(os.path.join(out, fname), [(n, stored[n]) for n in part])
            weight_map.update({n: fname for n in part})
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)

    w = {n: t.to(F64) for n, t in stored.items()}
    v = cfg["vocab_size"]
    ids = torch.randint(3, v, (2, 7), dtype=torch.int64)
    mask = torch.ones(2, 7, dtype=torch.int64)
    mask[1, :2] = 0
    ids[1, :2] = 0
    labels = ids.masked_fill(mask == 0, -100)
    x = w["model.embed_tokens.weight"][ids].clone().requires_grad_(True)
    logits = forward(w, cfg, x, mask)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1),
                                             ignore_index=-100)
    (grad_x,) = torch.autograd.grad(loss, [x])
    io = [("ids", ids), ("attention_mask", mask), ("labels", labels), ("logits", logits.detach().float()),
          ("loss", loss.detach().float()), ("grad.inputs_embeds", grad_x.float())]
    write_safetensors(os.path.join(OUT_DIR, f"{name}-io.safetensors"), io,
                      {"generator": "tests/reference/make_llama_fixtures.py", "torch": torch.__version__})
    print(f"wrote tests/fixtures/{name}/ and {name}-io.safetensors (loss {loss.item():.6f})")


def main():
    torch.manual_seed(0)
    base = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "bos_token_id": 1, "eos_token_id": 2, "max_position_embeddings": 64, "torch_dtype": "float32"}
    make("llama-gqa", dict(base, vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
                           tie_word_embeddings=False), torch.float32, 1)
    make("llama-tied", dict(base, vocab_size=64, hidden_size=32, intermediate_size=40, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-6, rope_theta=500000.0,
                            tie_word_embeddings=True, torch_dtype="bfloat16"), torch.bfloat16, 2)


if __name__ == "__main__":
    main()
