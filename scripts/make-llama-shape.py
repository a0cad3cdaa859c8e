#!/usr/bin/env python3
"""Writes a LLaMA checkpoint of a given shape with random weights, in Hugging Face's format: bf16
safetensors in shards of at most 5 GB with their index, config.json, and a tokenizer copied in.

For measuring memory and speed at a shape no model of ours has: LLaMA-2 7B (32 layers, d 4096,
13.5 GB in bf16) loads, generates and trains exactly as the released one would, with meaningless
outputs. Weights are drawn from N(0, 0.02^2) (the config's initializer_range), norms are 1.

    /usr/bin/python3 scripts/make-llama-shape.py --out DIR [--shape llama2-7b] [--layers N]
        [--tokenizer ../shared/tokenizers/llama2/tokenizer.model] [--seed 0]

Needs numpy (Debian's python3-numpy). Writes each shard to a temporary name and renames it.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

SHAPES = {
    # meta-llama/Llama-2-7b-hf's config.json
    "llama2-7b": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096),
    # the same layout at a size a test can write in a second
    "tiny": dict(vocab_size=32000, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512),
}
SHARD_BYTES = 5 * 10**9  # as Hugging Face shards


def tensor_shapes(c):
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv = d // c["num_attention_heads"] * c["num_key_value_heads"]
    yield "model.embed_tokens.weight", (v, d)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (d,)
        yield p + "self_attn.q_proj.weight", (d, d)
        yield p + "self_attn.k_proj.weight", (kv, d)
        yield p + "self_attn.v_proj.weight", (kv, d)
        yield p + "self_attn.o_proj.weight", (d, d)
        yield p + "post_attention_layernorm.weight", (d,)
        yield p + "mlp.gate_proj.weight", (f, d)
        yield p + "mlp.up_proj.weight", (f, d)
        yield p + "mlp.down_proj.weight", (d, f)
    yield "model.norm.weight", (d,)
    yield "lm_head.weight", (v, d)


def bf16_bits(x):
    """f32 array -> uint16 bf16 bits, rounded to nearest even (as torch's .to(torch.bfloat16))."""
    u = x.view(np.uint32)
    u += np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))  # finite values of size 0.02: no overflow
    return (u >> 16).astype(np.uint16)


def draw(rng, name, shape, std):
    if name.endswith("layernorm.weight") or name == "model.norm.weight":
        return bf16_bits(np.ones(shape, np.float32))
    # drawn a block of rows at a time, so a [32000, 4096] matrix never needs 0.5 GB of f32 at once
    rows = shape[0]
    per = max(1, (1 << 24) // max(1, int(np.prod(shape[1:]))))
    out = np.empty(shape, np.uint16)
    for r in range(0, rows, per):
        block = rng.standard_normal((min(per, rows - r),) + tuple(shape[1:]), dtype=np.float32)
        block *= np.float32(std)
        out[r:r + per] = bf16_bits(block)
    return out


def write_shard(path, tensors, rng, std):
    """Writes [(name, shape)] as one safetensors file, drawing each tensor as it goes."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        nbytes = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for name, shape in tensors:
            draw(rng, name, shape, std).tofile(f)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="llama2-7b")
    ap.add_argument("--layers", type=int, help="override num_hidden_layers")
    ap.add_argument("--tokenizer", help="a SentencePiece tokenizer.model to copy in (vocabulary of 32000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    c = dict(SHAPES[args.shape])
    if args.layers is not None:
        if args.layers < 1:
            sys.exit(f"--layers: expected a positive count, got {args.layers}")
        c["num_hidden_layers"] = args.layers
    c.update(rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, initializer_range=0.02,
             architectures=["LlamaForCausalLM"], model_type="llama", torch_dtype="bfloat16", hidden_act="silu",
             bos_token_id=1, eos_token_id=2, attention_bias=False)
    os.makedirs(args.out, exist_ok=True)
    if args.tokenizer:
        if not os.path.isfile(args.tokenizer):
            sys.exit(f"--tokenizer {args.tokenizer}: no such file")
        shutil.copyfile(args.tokenizer, os.path.join(args.out, "tokenizer.model"))

    rng = np.random.default_rng(args.seed)
    shapes = list(tensor_shapes(c))
    total = sum(2 * int(np.prod(s)) for _, s in shapes)
    # each shard filled up to SHARD_BYTES in order, as Hugging Face's save_pretrained does
    shards, size = [[]], 0
    for name, shape in shapes:
        nbytes = 2 * int(np.prod(shape))
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append((name, shape))
        size += nbytes
    weight_map = {}
    for i, tensors in enumerate(shards, 1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        write_shard(os.path.join(args.out, file), tensors, rng, c["initializer_range"])
        weight_map.update((name, file) for name, _ in tensors)
        print(f"{file}: {len(tensors)} tensors", flush=True)

    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    print(f"{args.out}: {len(shapes)} tensors, {total // 2:,} parameters, {total / 1e9:.2f} GB of bf16")


if __name__ == "__main__":
    main()
