#!/usr/bin/env bash
# Runs on the GPU machine (after bench/device-prepare.sh here): our `train` command on the Llama-2-7B shape (random
# init, AdamW full fine-tune, 32 layers unless --layers), a few steps per sequence length, JSON lines into
# $OUT/train.jsonl with the run's settings, and a summary line per run (median tokens/s of the steps after the
# first, model TFLOP/s per GPU by torch_peer.py's convention from the parameters, hidden size and layers that the
# run's "train: ... model N parameters (hidden H, L layers, ...)" log line gives, peak pool memory of the fullest
# rank).
#   bash bench/device-train.sh DEVICES MODE SEQ[,SEQ...] [STEPS] [-- extra train flags]
#   bash bench/device-train.sh cuda:0,1 zigzag_ring_attn 32768,131072 3 -- --gpu-memory-gib 80
set -uo pipefail
out=${OUT:-/tmp/out}
mkdir -p "$out"
devices=$1 mode=$2 seqs=$3 steps=${4:-3}
shift $(( $# >= 4 ? 4 : $# ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
model=${MODEL:-llama2-7b}
for seq in ${seqs//,/ }; do
  # JVM options (JAVA_TOOL_OPTIONS=-Deasycontext.ring.blocks=merged, say) are part of what a run measured.
  tag="$devices $mode seq=$seq ${extra[*]}${JAVA_TOOL_OPTIONS:+ [$JAVA_TOOL_OPTIONS]}"
  echo "== train $tag" | tee -a "$out/train.txt"
  start=$(date +%s)
  log=$(mktemp)  # this run's stderr, where the model's size is logged
  NCCL_NVLS_ENABLE=0 .device/java -Xmx48g io.easycontext.runtime.cli.Main train --model "$model" \
      --devices "$devices" --parallel-mode "$mode" --seq-length "$seq" --max-train-steps "$steps" \
      --learning-rate 1e-5 --warmup-steps 0 "${extra[@]}" 2> >(tee -a "$out/train.txt" "$log" >&2) \
    | python3 -c '
import json, re, sys, statistics
tag, seq, devices, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
with open(sys.argv[5], "a") as f:
    for r in rows:
        f.write(json.dumps(dict(r, run=tag)) + "\n")
if not rows:
    print(f"RESULT {tag}: no step finished"); sys.exit(0)
# "train: ... model 6,738,415,616 parameters (hidden 4096, 32 layers, ...)", logged before the first step.
size = re.search(r"model ([\d,]+) parameters \(hidden (\d+), (\d+) layers", open(log).read())
shape = (int(size[1].replace(",", "")), int(size[3]), int(size[2])) if size else None
def count(part):  # "0,1" or "0-3"
    a, _, b = part.partition("-")
    return int(b) - int(a) + 1 if b else 1
gpus = sum(count(p) for p in devices.split(":")[1].split(",")) if devices.startswith("cuda:") else 1
later = rows[1:] or rows
tps = statistics.median(r["tokens_per_s"] for r in later)
peak = max(r.get("peak_device_gib", 0) for r in rows)
loss = rows[-1]["loss"]
line = f"RESULT {tag}: {tps:,.0f} tokens/s, peak {peak} GiB, loss {loss:.4f}"
if shape:
    p, layers, hidden = shape
    tf = tps * (6 * p + 6 * layers * seq * hidden) / 1e12 / gpus
    line += f", {tf:.0f} model TFLOP/s per GPU, MFU {tf / 989:.1%} (989 TFLOP/s dense bf16)"
print(line)
' "$tag" "$seq" "$devices" "$log" "$out/train.jsonl" | tee -a "$out/train.txt"
  rm -f "$log"
  echo "   ($(( $(date +%s) - start )) s)" | tee -a "$out/train.txt"
done
