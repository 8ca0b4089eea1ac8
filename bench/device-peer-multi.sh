#!/usr/bin/env bash
# Runs on the GPU machine: the PyTorch multi-GPU peer (bench/torch_cp_peer.py: FSDP2 + context parallelism, issue 5)
# at the given settings. JSON lines go to $OUT/peer-g<gpus>-l<layers>.jsonl and to stdout, diagnostics to
# $OUT/peer-stderr.txt and stderr, and a short table comes at the end. Needs only torch and transformers there.
#   bash bench/device-peer-multi.sh GPUS SEQS [LAYERS] [more torch_cp_peer.py flags...]
#   bash bench/device-peer-multi.sh 1,2 65536,131072 32
#   bash bench/device-peer-multi.sh 2 131072 32 --rotate allgather,alltoall --timeout 500
#   bash bench/device-peer-multi.sh 2 max:131072 32          # --find-max from 131072 (one warm-up + one timed step a try)
# GPUS and SEQS are comma lists (k/m suffixes allowed in SEQS); LAYERS defaults to 32.
set -uo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/out}
mkdir -p "$out"
gpus_list=$1
seqs=$2
layers=${3:-32}
shift $(( $# < 3 ? $# : 3 ))
# NVLink multicast stays off on the lent machines (library/device/KINDS.md); the peer sets these too.
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
nvidia-smi --query-gpu=index,name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/peer-gpus.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' \
  | tee -a "$out/peer-gpus.txt"
case $seqs in
  max) mode=(--find-max) ;;
  max:*) mode=(--find-max --seq "${seqs#max:}") ;;
  *) mode=(--seq "$seqs") ;;
esac
status=0
IFS=, read -ra gpus_arr <<< "$gpus_list"
for g in "${gpus_arr[@]}"; do
  log="$out/peer-g$g-l$layers.jsonl"
  python3 "$here/torch_cp_peer.py" --gpus "$g" --layers "$layers" "${mode[@]}" "$@" \
    2> >(tee -a "$out/peer-stderr.txt" >&2) | tee -a "$log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -ne 0 ] && status=$rc
done
python3 - "$out" <<'PY'
import glob, json, os, sys
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "peer-g*-l*.jsonl"))):
    rows += [json.loads(l) for l in open(path) if l.startswith("{")]
for r in rows:
    if r.get("what") == "train_cp_max":
        print(f"max seq: {r['gpus']} GPU(s) {r['layers']} layers {r.get('sdpa')} {r.get('cp_rotate') or '-'}: "
              f"{r.get('max_seq')} (first OOM {r.get('first_oom_seq')})")
    elif r.get("what") == "train_cp" and "error" in r:
        print(f"{r['gpus']} GPU(s) {r['layers']} layers S={r['seq']:>8}: {r['error']}")
    elif r.get("what") == "train_cp":
        print(f"{r['gpus']} GPU(s) {r['layers']} layers S={r['seq']:>8} {r['sdpa']:>6} {r.get('cp_rotate') or '-':>9}"
              f"{' offload' if r.get('offload') else ''}: {r['tokens_per_s']:>7} tok/s {r['step_ms']:>9} ms/step "
              f"{r['tflops_per_gpu']:>6} TFLOP/s/GPU MFU {r['mfu']:.3f} peak {r['peak_mem_gib']} GiB")
PY
exit $status
