#!/usr/bin/env bash
# Runs on a GPU machine (after bench/device-prepare.sh here): the Llama-2-7B shape in every sequence-parallel mode
# over all the node's GPUs at one length, the memory options chosen by --auto-memory (issue 5's "each mode" table).
# usp_attn splits the GPUs as Ulysses 2 × ring (the rest); the result lines come from bench/device-train.sh.
#   bash bench/device-modes.sh [SEQ] [STEPS] [MODE...]     # default 131072 tokens, 2 steps, every mode
set -uo pipefail
seq=${1:-131072} steps=${2:-2}
shift $(( $# < 2 ? $# : 2 ))
modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(zigzag_ring_attn ring_attn ulysses_attn dist_flash_attn usp_attn data_parallel)
here=$(cd "$(dirname "$0")" && pwd)
gpus=$(nvidia-smi --list-gpus | wc -l)
for mode in "${modes[@]}"; do
  extra=(--auto-memory)
  [ "$mode" = usp_attn ] && extra+=(--ulysses-degree 2)
  # data_parallel gives each GPU its own sequence: the same tokens per GPU as the others' whole sequence per node.
  bash "$here/device-train.sh" "cuda:0-$((gpus - 1))" "$mode" "$seq" "$steps" -- "${extra[@]}" | grep -E "RESULT|^   \("
done
