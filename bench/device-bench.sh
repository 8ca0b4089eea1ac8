#!/usr/bin/env bash
# Runs on the GPU machine (after bench/device-prepare.sh here): our benchmarks and the PyTorch peer's, side by
# side in one call, JSON lines to $OUT/bench.jsonl and a short table at the end.
#   bash bench/device-bench.sh [gemm] [attention] [train] [attention-ours] [attention-d64]
#                                                     (default: gemm attention train)
# HOPPER_FORWARD and HOPPER_BACKWARD (comma lists, e.g. plain,ws and plain,tiled; default: the runtime's) time
# several Hopper schedules in the attention part. In the train part MOMENTS=bf16 keeps our AdamW moments in bf16,
# as the HF peer's AdamW keeps them for bf16 weights (MOMENTS=fp32,bf16 runs ours with each), and KEPT (a comma list
# of layer counts, default 0; 99 = all) keeps that many layers' attention outputs through checkpointing in ours.
# The attention-d64 part times head dim 64 (our Hopper and portable kernels, and the peer) at 16K.
set -uo pipefail
out=${OUT:-/tmp/out}
MOMENTS=${MOMENTS:-fp32}
KEPT=${KEPT:-0}
mkdir -p "$out"
log="$out/bench.jsonl"
: > "$log"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
ours() { .device/java -Xmx32g io.easycontext.runtime.cli.Main bench "$@" 2> >(tee -a "$out/stderr.txt" >&2) | tee -a "$log"; }
peer() { python3 .device/torch_peer.py "$@" 2> >(tee -a "$out/stderr.txt" >&2) | tee -a "$log"; }
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(gemm attention train)
for part in "${parts[@]}"; do
  case $part in
    gemm) ours --what gemm; peer gemm ;;
    attention)
      ours --what attention --seq 4096,16384,65536 --kv-heads 32,8 ${HOPPER_FORWARD:+--hopper-forward "$HOPPER_FORWARD"} \
        ${HOPPER_BACKWARD:+--hopper-backward "$HOPPER_BACKWARD"}
      peer attention --seq 4096,16384,65536 --kv-heads 32
      peer attention --seq 4096,16384,65536 --kv-heads 8 ;;
    train)
      for shape in "8 32768" "4 131072"; do
        set -- $shape
        for moments in ${MOMENTS//,/ }; do
          for kept in ${KEPT//,/ }; do
            ours --what train --layers "$1" --seq "$2" --optimizer-moments "$moments" --kept-attention-layers "$kept"
          done
        done
        peer train --layers "$1" --seq "$2"
      done ;;
    attention-d64)
      ours --what attention --seq 16384 --kv-heads 32 --head-dim 64 --attention-kernels both
      peer attention --seq 16384 --kv-heads 32 --head-dim 64 ;;
    attention-ours) ours --what attention --seq 4096,16384,65536 --kv-heads 32,8 --attention-kernels both ;;
    *) echo "unknown part $part" >&2 ;;
  esac
done
python3 - "$log" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for r in rows:
    if r.get("what") == "gemm_bf16":
        print(f"gemm {r['n']}^3 {r.get('impl', r.get('peer', 'ours')):>22}: {r['tflops']} TFLOP/s")
att = [r for r in rows if r.get("what") == "attention_causal" and "error" not in r]
for r in att:
    impl = r.get("impl") + ("-" + r["kernels"] if "kernels" in r else "")
    print(f"attention S={r['S']:>6} kv={r['kv_heads']:>2} d={r.get('head_dim', 128):>3} {impl:>22}: fwd {r['fwd_tflops']:>6} bwd {r['bwd_tflops']:>6} TFLOP/s")
for r in rows:
    if r.get("what") == "train_step":
        if "error" in r:
            print(f"train {r['layers']} layers S={r['S']} {r['impl']}: {r['error']}")
        else:
            impl = r['impl'] + (f" ({r['moments']} moments, {r['kept_attention_layers']} kept)" if 'moments' in r else "")
            print(f"train {r['layers']} layers S={r['S']:>6} {impl:>36}: {r['tokens_per_s']:>6} tok/s {r['model_tflops']:>6} TFLOP/s peak {r['peak_mem_gib']} GiB")
PY
