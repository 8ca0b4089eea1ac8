#!/usr/bin/env python3
"""PyTorch peer for multi-GPU long-context training (issue 5): the strongest plain-PyTorch recipe we know for a
full-parameter, full-attention AdamW fine-tune of the Llama-2-7B shape on one node, timed the same way as ours.

    python3 bench/torch_cp_peer.py --gpus 2 --seq 131072                  # one JSON line
    python3 bench/torch_cp_peer.py --gpus 4 --seq 65536,131072,262144 --rotate allgather,alltoall
    python3 bench/torch_cp_peer.py --gpus 2 --layers 8 --seq 32768 --find-max
    python3 bench/torch_cp_peer.py --gpus 2 --layers 2 --seq 16384 --verify --steps 1

The script starts one process per GPU itself (torch.multiprocessing, spawn, NCCL on 127.0.0.1; no torchrun);
`--gpus 1` with a single configuration runs in this process. Each configuration of a sweep, and each try of
`--find-max`, gets fresh processes, so an out-of-memory failure cannot leave fragmentation behind for the next.

What runs (one training step = forward, backward, gradient clipping to norm 1, AdamW step):
  * model: transformers `LlamaForCausalLM` built from a `LlamaConfig` (hidden 4096, ffn 11008, 32 heads, 32 kv
    heads, vocab 32000, RMSNorm eps 1e-5, rope theta `--rope-theta`, `--layers` decoder layers, untied lm_head),
    attn_implementation="sdpa", random init (normal 0.02, norms 1) made on the meta device and materialised
    shard by shard. We call its modules ourselves (embed_tokens -> LlamaRotaryEmbedding -> each
    LlamaDecoderLayer -> norm -> lm_head) instead of `LlamaForCausalLM.forward`, for two reasons: the loss must
    not materialise S x 32000 logits (below), and transformers' `create_causal_mask` reads the load-balanced
    (non-monotonic) position ids of a context-parallel shard as packed documents and would build an explicit
    mask, which ring attention cannot take. With attention_mask=None the HF sdpa path calls
    `F.scaled_dot_product_attention(..., is_causal=True)`, which is what context parallelism intercepts.
  * precision: real mixed precision with fp32 master weights. FSDP2 keeps the sharded parameters in fp32 and
    all-gathers them as bf16 (`MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32)`), gradients are
    reduce-scattered in fp32 into fp32 shards, and fused AdamW (`fused=True`) keeps fp32 moments: 16 bytes per
    parameter, divided over the GPUs. (bf16 parameters with torch's AdamW would keep bf16 moments and lose small
    updates to bf16 rounding; `--master bf16` runs that anyway, 8 bytes per parameter, and says so in the JSON.)
  * sharding: FSDP2 `fully_shard` on every decoder layer (resharded after forward) and on the root (embedding,
    final norm, lm_head; kept unsharded between forward and backward) over one 1-D mesh of all GPUs (ZeRO-3).
    `--cpu-offload` adds `CPUOffloadPolicy(pin_memory=True)`: shards, gradients and the optimizer live in host
    memory and AdamW runs on the CPU. One GPU still goes through FSDP2 (a mesh of one): that is the same
    fp32-master machinery, and the only way to offload.
  * sequence parallelism (more than one GPU): `torch.distributed.tensor.experimental.context_parallel` over the
    same mesh (ring attention on SDPA, KV rotated by all-gather or all-to-all: `--rotate`), with load balancing
    on (`_cp_options.enable_load_balance = True`: every GPU holds the head chunk i and the tail chunk 2N-1-i of
    the sequence, so causal work is equal). Buffers sharded on dim 1: input_ids, labels (shifted before
    sharding) and position_ids; the RoPE cos/sin are computed from the sharded position ids, so there is no
    RoPE cache to shard. The sequence must divide by 2 x GPUs; the loss is the exact global token mean
    (each rank's sum x N / (S-1), FSDP averages over the N ranks).
  * speed: SDPA backend `--sdpa cudnn` (default), `flash` or `efficient`, forced with `sdpa_kernel`; if the asked
    one cannot run here (a tiny probe fails, or a configuration fails with cuDNN for a reason other than memory)
    the script says so on stderr and falls back to flash. Activation checkpointing of every decoder layer
    (non-reentrant `checkpoint_wrapper`, applied before `fully_shard` as torchtitan does). The loss is computed
    in chunks of `--loss-chunk` tokens (default 4096), each chunk's lm_head GEMM + fp32 cross-entropy under a
    non-reentrant checkpoint: at most one chunk of logits (4096 x 32000 x ~14 bytes, about 1.8 GB in its
    backward) exists at a time, for one extra lm_head GEMM per token in backward (~0.6% of the step at 7B);
    `LlamaForCausalLM(labels=...)` would hold S x 32000 logits in bf16 plus their fp32 copy and gradient
    (tens of GB at 128K). `PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True` unless set.

Measurement: `--warmup` untimed steps, then `--steps` timed ones; each step is bracketed by
torch.cuda.synchronize() and timed on the host on every rank; a step's time is the slowest rank's, and the
reported step_ms is the median. FLOP convention as ../shared/bench/torch_peer.py (and ours): training per token =
6 x params + 6 x layers x S x hidden, recompute not counted; tflops_per_gpu = tokens/s x that / GPUs; mfu against
`--peak-tflops` (989, H100/H200 dense bf16). peak_mem_gib is the largest torch.cuda.max_memory_allocated() over
the ranks. One JSON line per configuration on stdout (what="train_cp"); an out-of-memory configuration prints
{"error": "OOM", "seq": ...} instead of a traceback. Diagnostics go to stderr.

`--find-max` starts at the first --seq, doubles until a try runs out of memory, then bisects in steps of
8192 tokens (a multiple of 2 x GPUs x 128 for 1..32 GPUs) and prints each try plus a what="train_cp_max" line.
`--verify` (more than one GPU; use a small model and sequence) first runs one full-sequence step per rank without
context parallelism on the same weights and checks the context-parallel loss and gradient norm against it.

Needs torch >= 2.6 (FSDP2 at torch.distributed.fsdp, written against 2.11) and transformers 5.x (4.x mostly works).
"""
import argparse
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

OOM_EXIT = 17
FAIL_EXIT = 1
FIND_MAX_STEP = 8192
SAFE_ENV = {  # the GPU machines ask for NVLink multicast to stay off (library/device/KINDS.md)
    "NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def log(msg, rank=0):
    if rank == 0:
        print(f"[torch_cp_peer] {msg}", file=sys.stderr, flush=True)


def is_oom(e):
    if isinstance(e, getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)):
        return True
    s = str(e)
    return "out of memory" in s.lower() or "CUDA_ERROR_OUT_OF_MEMORY" in s or "CUBLAS_STATUS_ALLOC_FAILED" in s


# ----------------------------------------------------------------------------------------------------- model

def _ce_sum(h, weight, labels):
    """Summed cross-entropy of one chunk: lm_head GEMM in bf16, softmax in fp32, -100 ignored."""
    logits = F.linear(h, weight).float()
    return F.cross_entropy(logits.view(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100, reduction="sum")


class BenchLlama(nn.Module):
    """The HF Llama modules driven directly: embed -> RoPE -> decoder layers -> norm -> chunked lm_head + CE."""

    def __init__(self, hf, loss_chunk):
        super().__init__()
        self.embed_tokens = hf.model.embed_tokens
        self.layers = hf.model.layers
        self.norm = hf.model.norm
        self.lm_head = hf.lm_head
        self.loss_chunk = loss_chunk
        self._aux = {}  # "rotary": an HF LlamaRotaryEmbedding kept outside FSDP (its inv_freq is a buffer)

    def forward(self, input_ids, position_ids, labels, loss_scale):
        h = self.embed_tokens(input_ids)
        cos, sin = self._aux["rotary"](h, position_ids)
        for layer in self.layers:
            h = layer(h, position_embeddings=(cos, sin))
            if isinstance(h, tuple):  # transformers 4.x decoder layers return a tuple
                h = h[0]
        h = self.norm(h)
        total = None
        for i in range(0, h.shape[1], self.loss_chunk):
            part = torch.utils.checkpoint.checkpoint(
                _ce_sum, h[:, i:i + self.loss_chunk], self.lm_head.weight, labels[:, i:i + self.loss_chunk],
                use_reentrant=False)
            total = part if total is None else total + part
        return total * loss_scale


def llama_config(o):
    from transformers import LlamaConfig
    shape = dict(vocab_size=o["vocab"], hidden_size=o["hidden"], intermediate_size=o["ffn"],
                 num_hidden_layers=o["layers"], num_attention_heads=o["heads"], num_key_value_heads=o["kv_heads"],
                 rms_norm_eps=o["rms_eps"], max_position_embeddings=max(o["seq"], 4096), tie_word_embeddings=False,
                 attention_bias=False, mlp_bias=False, hidden_act="silu", use_cache=False,
                 attn_implementation="sdpa")
    try:  # transformers 5.x
        return LlamaConfig(rope_parameters={"rope_type": "default", "rope_theta": o["rope_theta"]}, **shape)
    except TypeError:  # 4.x
        return LlamaConfig(rope_theta=o["rope_theta"], **shape)


def build_model(o, mesh, dev, rank):
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    from torch.distributed.tensor import DTensor
    from transformers import LlamaForCausalLM
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    cfg = llama_config(o)
    with torch.device("meta"):
        hf = LlamaForCausalLM(cfg)
    if getattr(hf.config, "_attn_implementation", None) != "sdpa":
        try:
            hf.set_attn_implementation("sdpa")
        except Exception:
            hf.config._attn_implementation = "sdpa"
    if getattr(hf.config, "_attn_implementation", None) != "sdpa":
        raise RuntimeError(f"transformers chose attention {hf.config._attn_implementation!r}, not sdpa")
    params = sum(p.numel() for p in hf.parameters())
    model = BenchLlama(hf, o["loss_chunk"])
    del hf
    if o["master"] == "bf16":
        model.to(torch.bfloat16)
    if o["ac"]:
        for i, layer in enumerate(model.layers):
            model.layers[i] = checkpoint_wrapper(layer, preserve_rng_state=False)  # non-reentrant by default
    fsdp_kw = dict(mesh=mesh, mp_policy=MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32))
    if o["offload"]:
        from torch.distributed.fsdp import CPUOffloadPolicy
        fsdp_kw["offload_policy"] = CPUOffloadPolicy(pin_memory=True)
    for layer in model.layers:
        fully_shard(layer, reshard_after_forward=True, **fsdp_kw)
    fully_shard(model, reshard_after_forward=False, **fsdp_kw)
    model.to_empty(device="cpu" if o["offload"] else dev)
    torch.manual_seed(o["seed"] + 7919 * (rank + 1))  # each rank initialises its own shard
    with torch.no_grad():
        for name, p in model.named_parameters():
            t = p.to_local() if isinstance(p, DTensor) else p
            if name.endswith("norm.weight"):
                t.fill_(1.0)
            else:
                t.normal_(0.0, 0.02)
    model._aux["rotary"] = LlamaRotaryEmbedding(config=cfg).to(dev)  # inv_freq in fp32, moved as a buffer
    model.train()
    return model, params


def make_optimizer(model, rank):
    kw = dict(lr=1e-5, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **kw), "fused"
    except (RuntimeError, ValueError) as e:
        log(f"fused AdamW unavailable ({e}); using foreach", rank)
        return torch.optim.AdamW(model.parameters(), foreach=True, **kw), "foreach"


SDPA_ORDER = {"cudnn": ["cudnn", "flash", "efficient"], "flash": ["flash", "efficient"], "efficient": ["efficient"]}


def sdpa_backend(name):
    from torch.nn.attention import SDPBackend
    return {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION}[name]


def pick_sdpa(requested, dev, head_dim, rank):
    """Probe the requested SDPA backend on a small causal bf16 forward+backward shaped like ours; fall back if needed."""
    from torch.nn.attention import sdpa_kernel
    for name in SDPA_ORDER[requested]:
        try:
            q = torch.randn(1, 4, 512, head_dim, device=dev, dtype=torch.bfloat16, requires_grad=True)
            with sdpa_kernel([sdpa_backend(name)]):
                F.scaled_dot_product_attention(q, q, q, is_causal=True, enable_gqa=True).float().sum().backward()
            torch.cuda.synchronize(dev)
            if name != requested:
                log(f"SDPA backend {requested} is not usable here; falling back to {name}", rank)
            return name
        except RuntimeError as e:
            log(f"SDPA backend {name} failed the probe: {str(e).splitlines()[0][:200]}", rank)
    raise RuntimeError(f"no usable SDPA backend among {SDPA_ORDER[requested]}")


# ---------------------------------------------------------------------------------------------------- worker

def total_grad_norm(params):
    from torch.distributed.tensor import DTensor
    grads = [p.grad for p in params if p.grad is not None]
    if hasattr(torch.nn.utils, "get_total_norm"):
        n = torch.nn.utils.get_total_norm(grads, 2.0, False, True)
    else:
        n = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    return n.full_tensor() if isinstance(n, DTensor) else n


def train(rank, world, o, outdir):
    """One configuration on this rank (process group already up). Returns the result record on rank 0."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.nn.attention import sdpa_kernel
    import transformers

    dev = torch.device("cuda", rank)
    meta = {"device": torch.cuda.get_device_name(dev), "torch": torch.__version__,
            "transformers": transformers.__version__}
    if rank == 0 and outdir:
        write_json(os.path.join(outdir, "meta.json"), meta)
    mesh = init_device_mesh("cuda", (world,), mesh_dim_names=("fsdp_cp",))
    sdpa = pick_sdpa(o["sdpa"], dev, o["hidden"] // o["heads"], rank)
    if rank == 0 and outdir:
        write_json(os.path.join(outdir, "meta.json"), dict(meta, sdpa=sdpa))
    torch.cuda.reset_peak_memory_stats(dev)

    model, params = build_model(o, mesh, dev, rank)
    plist = list(model.parameters())
    opt, opt_impl = make_optimizer(model, rank)
    S, world_f = o["seq"], float(world)
    log(f"{world} GPU(s), {o['layers']} layers, {params / 1e9:.3f} B params, S={S}, sdpa={sdpa}, "
        f"rotate={o['rotate'] if world > 1 else '-'}, offload={o['offload']}, master={o['master']}, "
        f"AdamW {opt_impl}, peak after init {torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB", rank)

    # The same full sequence on every rank (context_parallel slices each rank's shard out of it).
    g = torch.Generator().manual_seed(o["seed"])
    ids_full = torch.randint(0, o["vocab"], (1, S), generator=g).to(dev)
    labels_full = torch.full_like(ids_full, -100)
    labels_full[:, :-1] = ids_full[:, 1:]
    pos_full = torch.arange(S, device=dev).unsqueeze(0)
    n_targets = S - 1

    def step(ids, pos, labels, scale, want_norm=False):
        loss = model(ids, pos, labels, scale)
        loss.backward()
        gn = None
        if o["clip"] or want_norm:
            gn = total_grad_norm(plist)
            if o["clip"]:
                if hasattr(torch.nn.utils, "clip_grads_with_norm_"):
                    torch.nn.utils.clip_grads_with_norm_(plist, 1.0, gn, foreach=True)
                else:
                    torch.nn.utils.clip_grad_norm_(plist, 1.0, foreach=True)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach(), gn

    verify = None
    times, loss = [], None
    with contextlib.ExitStack() as stack:
        stack.enter_context(sdpa_kernel([sdpa_backend(sdpa)]))
        if world > 1 and o["verify"]:
            # Reference: every rank runs the whole sequence without CP on the same (FSDP-sharded) weights;
            # FSDP averages N identical gradients, so this is the plain single-sequence gradient.
            ref = model(ids_full, pos_full, labels_full, 1.0 / n_targets)
            ref.backward()
            verify = {"loss_ref": ref.item(), "gnorm_ref": total_grad_norm(plist).item()}
            opt.zero_grad(set_to_none=True)
            del ref
        if world > 1:
            from torch.distributed.tensor.experimental import context_parallel
            try:
                from torch.distributed.tensor.experimental._context_parallel import _attention as cp_impl
            except ImportError:
                from torch.distributed.tensor.experimental import _attention as cp_impl
            if not hasattr(cp_impl._cp_options, "enable_load_balance"):
                raise RuntimeError("this torch has no _cp_options.enable_load_balance")
            cp_impl._cp_options.enable_load_balance = True
            cp_impl.set_rotate_method(o["rotate"])
            ids, labels, pos = ids_full.clone(), labels_full.clone(), pos_full.clone()
            stack.enter_context(context_parallel(mesh, buffers=[ids, labels, pos], buffer_seq_dims=[1, 1, 1],
                                                 no_restore_buffers={ids, labels, pos}))
            if ids.shape[1] * world != S:
                raise RuntimeError(f"context_parallel left a shard of {ids.shape[1]} tokens, expected {S // world}")
            scale = world_f / n_targets
        else:
            ids, labels, pos = ids_full, labels_full, pos_full
            scale = 1.0 / n_targets
        for i in range(o["warmup"] + o["steps"]):
            torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            loss, gn = step(ids, pos, labels, scale, want_norm=(i == 0 and verify is not None))
            torch.cuda.synchronize(dev)
            dt = time.perf_counter() - t0
            if i == 0 and verify is not None:
                lsum = loss.clone()
                dist.all_reduce(lsum)
                verify.update(loss_cp=lsum.item() / world_f, gnorm_cp=gn.item())
            if i >= o["warmup"]:
                times.append(dt)
            log(f"step {i} {'timed' if i >= o['warmup'] else 'warm-up'}: {dt * 1e3:.1f} ms (rank 0)", rank)

    # Slowest rank per step; largest peak over ranks; global mean loss of the last step.
    t = torch.tensor(times, device=dev, dtype=torch.float64)
    mem = torch.tensor([torch.cuda.max_memory_allocated(dev), torch.cuda.max_memory_reserved(dev)],
                       device=dev, dtype=torch.float64)
    lval = loss.float().reshape(1)
    if world > 1:
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        dist.all_reduce(mem, op=dist.ReduceOp.MAX)
        dist.all_reduce(lval)
    if rank != 0:
        return None
    step_s = statistics.median(t.tolist())
    tok_s = S / step_s
    flops_tok = 6 * params + 6 * o["layers"] * S * o["hidden"]
    tflops_gpu = tok_s * flops_tok / 1e12 / world
    rec = {"what": "train_cp", "gpus": world, "layers": o["layers"], "seq": S,
           "tokens_per_s": round(tok_s), "step_ms": round(step_s * 1e3, 1),
           "tflops_per_gpu": round(tflops_gpu, 1), "mfu": round(tflops_gpu / o["peak_tflops"], 4),
           "peak_mem_gib": round(mem[0].item() / 2**30, 2), "peak_reserved_gib": round(mem[1].item() / 2**30, 2),
           "sdpa": sdpa, "cp_rotate": o["rotate"] if world > 1 else None, "cp_load_balance": world > 1,
           "offload": o["offload"], "master": o["master"], "activation_checkpointing": o["ac"],
           "loss_chunk": o["loss_chunk"], "clip": o["clip"], "optimizer": f"AdamW {opt_impl}",
           "params": params, "hidden": o["hidden"], "warmup": o["warmup"], "steps": o["steps"],
           "step_ms_all": [round(x * 1e3, 1) for x in t.tolist()], "loss": round(lval.item() / world_f, 4)}
    if o["sdpa_requested"] != sdpa:
        rec["sdpa_requested"] = o["sdpa_requested"]
    if verify is not None:
        verify["loss_rel_err"] = abs(verify["loss_cp"] - verify["loss_ref"]) / abs(verify["loss_ref"])
        verify["gnorm_rel_err"] = abs(verify["gnorm_cp"] - verify["gnorm_ref"]) / abs(verify["gnorm_ref"])
        verify = {k: round(v, 6) for k, v in verify.items()}
        log(f"verify: {verify}", rank)
        rec["verify"] = verify
    rec.update(meta)
    rec["peer"] = "torch " + torch.__version__
    return rec


def init_process_group(rank, world, o):
    import datetime
    import torch.distributed as dist
    os.environ.update(SAFE_ENV)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(o["port"]), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.cuda.set_device(rank)
    backend = "cpu:gloo,cuda:nccl" if o["offload"] else "nccl"  # offload: gradient norm of CPU shards via gloo
    dist.init_process_group(backend=backend, rank=rank, world_size=world, device_id=torch.device("cuda", rank),
                            timeout=datetime.timedelta(seconds=o["nccl_timeout"]))


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def spawn_entry(rank, world, o, outdir):
    """Entry of each spawned rank: results and failures go to files in outdir; a failure exits hard (os._exit),
    so that no rank sits in NCCL teardown, and the launcher ends the others."""
    try:
        init_process_group(rank, world, o)
        rec = train(rank, world, o, outdir)
        if rank == 0:
            write_json(os.path.join(outdir, "result.json"), rec)
    except BaseException as e:  # noqa: B902 - every failure must be reported and end the process
        oom = is_oom(e)
        if oom:
            print(f"[torch_cp_peer] rank {rank}: out of memory: {str(e).splitlines()[0][:300]}", file=sys.stderr)
        else:
            traceback.print_exc()
        try:
            write_json(os.path.join(outdir, f"rank{rank}.json"),
                       {"error": "OOM" if oom else type(e).__name__, "message": str(e)[:1000]})
        finally:
            sys.stderr.flush()
            os._exit(OOM_EXIT if oom else FAIL_EXIT)
    try:
        import torch.distributed as dist
        dist.barrier()
        dist.destroy_process_group()
    except Exception:
        pass


# -------------------------------------------------------------------------------------------------- launcher

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_spawned(o):
    import torch.multiprocessing as mp
    world = o["gpus"]
    outdir = tempfile.mkdtemp(prefix="torch-cp-peer-")
    o = dict(o, port=free_port())
    ctx = mp.start_processes(spawn_entry, args=(world, o, outdir), nprocs=world, join=False, start_method="spawn")
    deadline = time.time() + o["timeout"] if o["timeout"] > 0 else None
    result_path = os.path.join(outdir, "result.json")
    result_seen, timed_out, failure = None, False, None
    while True:
        try:
            if ctx.join(timeout=2):
                break
        except Exception as e:  # a rank exited non-zero; join() has already ended the others
            failure = e
            break
        now = time.time()
        if result_seen is None and os.path.exists(result_path):
            result_seen = now
        if (result_seen is not None and now - result_seen > 120) or (deadline is not None and now > deadline):
            timed_out = result_seen is None
            for p in ctx.processes:  # teardown hang or over time: end them
                if p.is_alive():
                    p.kill()
            for p in ctx.processes:
                p.join()
            break
    ranks = [read_json(os.path.join(outdir, f"rank{r}.json")) for r in range(world)]
    meta = read_json(os.path.join(outdir, "meta.json")) or {}
    res = read_json(result_path)
    if any(r and r.get("error") == "OOM" for r in ranks):
        return {"error": "OOM"}, meta
    if res is not None:
        return res, meta
    if timed_out:
        return {"error": "timeout", "message": f"no result within {o['timeout']} s"}, meta
    errs = [r for r in ranks if r]
    if errs:
        return {"error": errs[0]["error"], "message": errs[0]["message"][:500]}, meta
    return {"error": "failed", "message": str(failure)[:500] if failure else "no result"}, meta


def run_in_process(o):
    import torch.distributed as dist
    o = dict(o, port=free_port())
    meta = {}
    try:
        init_process_group(0, 1, o)
        meta = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
        return train(0, 1, o, None), meta
    except Exception as e:
        if is_oom(e):
            log(f"out of memory: {str(e).splitlines()[0][:300]}")
            return {"error": "OOM"}, meta
        traceback.print_exc()
        return {"error": type(e).__name__, "message": str(e)[:500]}, meta
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_config(o, sticky, in_process):
    """Runs one configuration (fresh processes unless in_process); retries with flash if cuDNN failed for a
    reason other than memory or time. sticky holds the fallback for the configurations after it."""
    o = dict(o, sdpa=sticky.get("sdpa", o["sdpa"]), sdpa_requested=o["sdpa"])
    res, meta = (run_in_process if in_process else run_spawned)(o)
    if "error" in res and res["error"] not in ("OOM", "timeout") and o["sdpa"] == "cudnn":
        log(f"seq {o['seq']} failed with cuDNN SDPA ({res['error']}: {res.get('message', '')[:200]}); "
            "retrying with flash")
        sticky["sdpa"] = "flash"
        o["sdpa"] = "flash"
        res, meta = (run_in_process if in_process else run_spawned)(o)
    if "error" in res:
        rec = {"what": "train_cp", "gpus": o["gpus"], "layers": o["layers"], "seq": o["seq"], "error": res["error"]}
        if res.get("message"):
            rec["message"] = res["message"]
        rec.update(sdpa=meta.get("sdpa", o["sdpa"]), cp_rotate=o["rotate"] if o["gpus"] > 1 else None,
                   offload=o["offload"], master=o["master"])
        rec.update({k: meta[k] for k in ("device", "torch", "transformers") if k in meta})
        rec["peer"] = "torch " + torch.__version__
        res = rec
    print(json.dumps(res), flush=True)
    return res


def find_max(o, sticky, step):
    """Doubles from the first --seq until out of memory, then bisects to `step`; returns the longest that ran."""
    def run(s):
        return run_config(dict(o, seq=s), sticky, in_process=False)

    good, bad, error = 0, None, None
    s = max(step, -(-o["seq"] // step) * step)
    while s <= o["max_seq"]:
        r = run(s)
        if "error" not in r:
            good, s = s, s * 2
        elif r["error"] == "OOM":
            bad = s
            break
        else:
            error = r["error"]
            break
    while error is None and bad is not None and bad - good > step:
        mid = max(good + step, (good + bad) // 2 // step * step)
        r = run(mid)
        if "error" not in r:
            good = mid
        elif r["error"] == "OOM":
            bad = mid
        else:
            error = r["error"]
    summary = {"what": "train_cp_max", "gpus": o["gpus"], "layers": o["layers"], "max_seq": good or None,
               "first_oom_seq": bad, "granularity": step, "sdpa": sticky.get("sdpa", o["sdpa"]),
               "cp_rotate": o["rotate"] if o["gpus"] > 1 else None, "offload": o["offload"], "master": o["master"],
               "warmup": o["warmup"], "steps": o["steps"], "peer": "torch " + torch.__version__}
    if bad is None and error is None:
        summary["note"] = f"no OOM up to --max-seq {o['max_seq']}"
    if error is not None:
        summary["error"] = error
    print(json.dumps(summary), flush=True)


def parse_seq(text):
    out = []
    for part in text.split(","):
        p = part.strip().lower()
        mult = 1024 if p.endswith("k") else 1024 * 1024 if p.endswith("m") else 1
        out.append(int(p.rstrip("km")) * mult)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpus", type=int, default=1)
    p.add_argument("--seq", default="131072", help="comma list (k/m suffixes allowed); --find-max: start value")
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--ffn", type=int, default=11008)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=32)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--sdpa", choices=["cudnn", "flash", "efficient"], default="cudnn")
    p.add_argument("--rotate", default="allgather", help="allgather, alltoall, or a comma list to sweep")
    p.add_argument("--cpu-offload", action="store_true")
    p.add_argument("--master", choices=["fp32", "bf16"], default="fp32",
                   help="fp32: fp32 master weights and AdamW moments (default); bf16: everything bf16")
    p.add_argument("--loss-chunk", type=int, default=4096)
    p.add_argument("--no-ac", action="store_true", help="no activation checkpointing")
    p.add_argument("--no-clip", action="store_true", help="no gradient clipping")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--peak-tflops", type=float, default=989.0)
    p.add_argument("--find-max", action="store_true")
    p.add_argument("--find-max-step", type=int, default=FIND_MAX_STEP)
    p.add_argument("--max-seq", type=int, default=4 * 1024 * 1024)
    p.add_argument("--timeout", type=float, default=0, help="seconds per configuration (0: none)")
    p.add_argument("--nccl-timeout", type=int, default=1800)
    p.add_argument("--verify", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    # Before anything touches CUDA here; the ranks inherit it.
    os.environ.update(SAFE_ENV)
    if "PYTORCH_CUDA_ALLOC_CONF" not in os.environ and "PYTORCH_ALLOC_CONF" not in os.environ:
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"

    if a.gpus < 1:
        p.error("--gpus must be at least 1")
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if a.gpus > have:
        p.error(f"--gpus {a.gpus}: this machine shows {have} CUDA device(s)")
    rotates = [r.strip() for r in a.rotate.split(",")]
    for r in rotates:
        if r not in ("allgather", "alltoall"):
            p.error(f"--rotate {r}: allgather or alltoall")
    try:
        seqs = parse_seq(a.seq)
    except ValueError:
        p.error(f"--seq {a.seq}: integers (k/m suffixes allowed), comma separated")
    unit = 2 * a.gpus
    if a.gpus > 1:
        for s in seqs if not a.find_max else []:
            if s % unit:
                p.error(f"--seq {s}: with {a.gpus} GPUs the sequence must divide by 2 x {a.gpus} = {unit}: "
                        f"load-balanced context parallelism gives every GPU two equal chunks (head and tail); "
                        f"try {s - s % unit} or {s - s % unit + unit}")
    step = a.find_max_step
    if a.find_max and (step <= 0 or step % unit):
        p.error(f"--find-max-step {step} must be a positive multiple of 2 x GPUs = {unit}")
    if a.warmup < 0 or a.steps < 1 or a.loss_chunk < 1:
        p.error("--warmup >= 0, --steps >= 1, --loss-chunk >= 1")
    if a.verify and a.gpus == 1:
        log("--verify compares against the run without context parallelism; with one GPU there is nothing to check")
    if a.hidden % a.heads:
        p.error("--hidden must divide by --heads")

    base = dict(gpus=a.gpus, layers=a.layers, hidden=a.hidden, ffn=a.ffn, heads=a.heads, kv_heads=a.kv_heads,
                vocab=a.vocab, rms_eps=a.rms_eps, rope_theta=a.rope_theta, sdpa=a.sdpa, offload=a.cpu_offload,
                master=a.master, loss_chunk=a.loss_chunk, ac=not a.no_ac, clip=not a.no_clip, warmup=a.warmup,
                steps=a.steps, peak_tflops=a.peak_tflops, timeout=a.timeout, nccl_timeout=a.nccl_timeout,
                verify=a.verify and a.gpus > 1, seed=a.seed, max_seq=a.max_seq)
    sticky = {}
    if a.find_max:
        for r in rotates:
            find_max(dict(base, seq=seqs[0], rotate=r, warmup=1, steps=1), sticky, step)
        return
    configs = [dict(base, seq=s, rotate=r) for s in seqs for r in (rotates if a.gpus > 1 else rotates[:1])]
    in_process = a.gpus == 1 and len(configs) == 1
    failed = False
    for c in configs:
        res = run_config(c, sticky, in_process)
        failed |= "error" in res and res["error"] != "OOM"
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
