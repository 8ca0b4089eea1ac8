#!/usr/bin/env bash
# Runs on the GPU machine (after bench/device-prepare.sh here): Nsight Compute on one launch each of our attention
# kernels (head dim 128, causal, S given; on Hopper the sm_90a ones: the warp-specialized forward, the tiled
# backward and its dQ conversion), the sections that say where the time goes (speed of light, occupancy, warp
# stall reasons, memory and compute workload), as text under $OUT/profile/.
#   bash bench/device-profile.sh [S] [KV_HEADS] [KERNEL...]    # default kernels: the Hopper defaults
set -uo pipefail
out=${OUT:-/tmp/out}/profile
mkdir -p "$out"
seq=${1:-16384} kv=${2:-32}
shift $(( $# < 2 ? $# : 2 ))
kernels=("$@")
[ ${#kernels[@]} -eq 0 ] && kernels=(attention_forward_hopper_ws_d128 attention_backward_hopper_tiled_d128 attention_backward_dq_tiles_d128)
ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)
[ -z "$ncu" ] && { echo "no ncu on this machine" | tee "$out/none.txt"; exit 0; }
for kernel in "${kernels[@]}"; do
  # The bench runs the schedule whose kernel is named (its defaults: forward ws, backward tiled).
  case $kernel in
    attention_forward_hopper_d*) schedule=(--hopper-forward plain) ;;
    attention_backward_hopper_d*) schedule=(--hopper-backward plain) ;;
    attention_backward_hopper_*) variant=${kernel#attention_backward_hopper_}; schedule=(--hopper-backward "${variant%%_d*}") ;;
    *) schedule=() ;;
  esac
  # Skip the warm-up launches: the third is timed like the rest.
  "$ncu" --kernel-name "$kernel" --launch-skip 3 --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
      --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section SchedulerStats \
      --section InstructionStats --print-details all \
      .device/java io.easycontext.runtime.cli.Main bench --what attention --seq "$seq" --kv-heads "$kv" --iters 1 "${schedule[@]}" \
      > "$out/$kernel-S$seq-kv$kv.txt" 2>&1
  grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Stall|Issued Ipc|Warp Cycles Per Issued" \
      "$out/$kernel-S$seq-kv$kv.txt" | head -40
done
