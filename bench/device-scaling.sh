#!/usr/bin/env bash
# Runs on a GPU machine of N GPUs (after bench/device-prepare.sh here): scaling of ours and of the PyTorch peer from 1
# to every power of two up to the node's GPUs, the Llama-2-7B shape at one sequence length (issue 10: 128K), zigzag
# ring attention (data parallel on one GPU) with the sharding and offloads the planner chooses (train --auto-memory).
#   bash bench/device-scaling.sh [SEQ] [STEPS]          # default 131072 tokens, 2 steps
set -uo pipefail
seq=${1:-131072} steps=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
gpus=$(nvidia-smi --list-gpus | wc -l)
n=1
while [ "$n" -le "$gpus" ]; do
  devices="cuda:0-$((n - 1))"
  mode=zigzag_ring_attn
  [ "$n" -eq 1 ] && mode=data_parallel devices=cuda:0
  bash "$here/device-train.sh" "$devices" "$mode" "$seq" "$steps" -- --auto-memory | grep RESULT
  bash "$here/device-peer-multi.sh" "$n" "$seq" 32 --warmup 1 --steps 1 | tail -1
  n=$((n * 2))
done
