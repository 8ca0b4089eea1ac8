#!/usr/bin/env python3
"""Hugging Face equivalence, both directions, on the GPU machine (torch + transformers, no internet).

1. transformers -> ours: a tiny random LlamaForCausalLM saved by save_pretrained (bf16, sharded) is loaded by
   our `logits` command; its logits match transformers' on the same ids.
2. ours -> transformers: a tiny random model saved by our `export` command (bf16, sharded) loads in
   LlamaForCausalLM.from_pretrained with no missing or unexpected keys, and its logits match ours.

Reference: transformers in float32 on the bf16 weights (exact in float32). Bounds: our CPU float32 forward within
1e-4 of the reference's scale; our CUDA bf16 forward no worse than 3x transformers' own bf16 forward (and within
3% of the logits' scale). Run from the repository root after bench/device-prepare.sh:

    python3 bench/hf_equivalence.py --java .device/java --work "$OUT/hf-equivalence"
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

V5 = int(transformers.__version__.split(".")[0]) >= 5

# Two shapes: GQA with separate lm_head and plain rope; tied embeddings with llama3 rope scaling and a raised theta.
VARIANTS = {
    "gqa_untied": dict(tie=False, theta=10000.0, scaling=None),
    "tied_llama3": dict(tie=True, theta=500000.0,
                        scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
}


def hf_config(tie, theta, scaling):
    shape = dict(vocab_size=320, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-5,
                 tie_word_embeddings=tie, attention_bias=False, mlp_bias=False, hidden_act="silu")
    if V5:
        rope = {"rope_type": "default", "rope_theta": theta} if scaling is None else dict(scaling, rope_theta=theta)
        return LlamaConfig(rope_parameters=rope, **shape)
    return LlamaConfig(rope_theta=theta, rope_scaling=scaling, **shape)


def hf_load(path, dtype, device):
    kw = {"dtype": dtype} if V5 else {"torch_dtype": dtype}
    model, info = LlamaForCausalLM.from_pretrained(path, attn_implementation="eager", output_loading_info=True, **kw)
    return model.to(device).eval(), info


def hf_logits(model, ids, device):
    with torch.no_grad():
        return model(torch.tensor([ids], device=device)).logits[0].float().cpu()


def ours_logits(java, model_dir, ids, backend, out_file):
    cmd = [java, "-Xmx8g", "io.easycontext.runtime.cli.Main", "logits", "--model", model_dir,
           "--ids", ",".join(map(str, ids)), "--backend", backend, "--output", out_file]
    subprocess.run(cmd, check=True)
    with open(out_file) as f:
        return torch.tensor(json.load(f)["logits"], dtype=torch.float32)


def max_err(a, b):
    return (a - b).abs().max().item()


def compare(name, reference, ours_cpu, ours_cuda, hf_bf16):
    scale = reference.abs().max().item()
    hf_bf16_err = max_err(hf_bf16, reference)
    row = {"case": name, "logit_scale": scale,
           "cpu_f32_max_err": max_err(ours_cpu, reference),
           "cuda_bf16_max_err": None if ours_cuda is None else max_err(ours_cuda, reference),
           "hf_bf16_max_err": hf_bf16_err}
    ok = row["cpu_f32_max_err"] <= 1e-4 * max(1.0, scale)
    if ours_cuda is not None:
        ok = ok and row["cuda_bf16_max_err"] <= max(3 * hf_bf16_err, 0.03 * scale)
    row["ok"] = ok
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--java", default=".device/java")
    p.add_argument("--work", default=os.path.join(os.environ.get("OUT", "/tmp/out"), "hf-equivalence"))
    p.add_argument("--no-cuda", action="store_true", help="skip our CUDA backend (CPU float32 only)")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ids = torch.randint(0, 320, (24,), generator=torch.Generator().manual_seed(11)).tolist()
    rows = []
    for name, v in VARIANTS.items():
        # 1. Saved by transformers, loaded by us.
        torch.manual_seed(0)
        hf_dir = os.path.join(args.work, f"hf_saved_{name}")
        LlamaForCausalLM(hf_config(v["tie"], v["theta"], v["scaling"])).to(torch.bfloat16).save_pretrained(
            hf_dir, max_shard_size="100KB")
        reference = hf_logits(hf_load(hf_dir, torch.float32, device)[0], ids, device)
        hf_bf16 = hf_logits(hf_load(hf_dir, torch.bfloat16, device)[0], ids, device)
        cpu = ours_logits(args.java, hf_dir, ids, "cpu", os.path.join(args.work, f"ours_cpu_{name}.json"))
        cuda = None if args.no_cuda else ours_logits(args.java, hf_dir, ids, "cuda",
                                                     os.path.join(args.work, f"ours_cuda_{name}.json"))
        rows.append(compare(f"hf->ours {name}", reference, cpu, cuda, hf_bf16))

        # 2. Saved by us (random weights from our seed), loaded by transformers.
        cfg_dir = os.path.join(args.work, f"shape_{name}")
        hf_config(v["tie"], v["theta"], v["scaling"]).save_pretrained(cfg_dir)
        ours_dir = os.path.join(args.work, f"ours_saved_{name}")
        subprocess.run([args.java, "io.easycontext.runtime.cli.Main", "export", "--model", cfg_dir, "--output",
                        ours_dir, "--dtype", "bf16", "--max-shard-size", "100KB", "--seed", "7"], check=True)
        model, info = hf_load(ours_dir, torch.float32, device)
        for key in ("missing_keys", "unexpected_keys", "mismatched_keys"):
            if info.get(key):
                raise SystemExit(f"transformers reported {key} loading {ours_dir}: {info[key]}")
        reference = hf_logits(model, ids, device)
        hf_bf16 = hf_logits(hf_load(ours_dir, torch.bfloat16, device)[0], ids, device)
        cpu = ours_logits(args.java, ours_dir, ids, "cpu", os.path.join(args.work, f"ours_cpu_ours_{name}.json"))
        cuda = None if args.no_cuda else ours_logits(args.java, ours_dir, ids, "cuda",
                                                     os.path.join(args.work, f"ours_cuda_ours_{name}.json"))
        rows.append(compare(f"ours->hf {name}", reference, cpu, cuda, hf_bf16))

    with open(os.path.join(args.work, "summary.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "rows": rows}, f, indent=1)
    for r in rows:
        cuda = "-" if r["cuda_bf16_max_err"] is None else f"{r['cuda_bf16_max_err']:.2e}"
        print(f"{r['case']:<24} scale {r['logit_scale']:.3f}  cpu-f32 {r['cpu_f32_max_err']:.2e}  "
              f"cuda-bf16 {cuda}  hf-bf16 {r['hf_bf16_max_err']:.2e}  {'ok' if r['ok'] else 'FAILED'}")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
