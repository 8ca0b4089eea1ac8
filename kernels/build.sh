#!/usr/bin/env bash
# Compiles kernels/*.cu to PTX resources: kernels/<name>.sm_80.ptx and <name>.sm_90.ptx for every file, and
# <name>.sm_90a.ptx for files that ask for Hopper-only instructions with a line "// arch: sm_90a" (or only that,
# for files written for Hopper alone: "// arch: sm_90a only").
# Without nvcc the build still succeeds: manifest.properties then says no kernels were built, and the
# CUDA backend reports that at run time.
#   kernels/build.sh OUTPUT_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTPUT_DIR}
mkdir -p "$out"
manifest="$out/manifest.properties"
# EASYCONTEXT_NVCC names a compiler, or "none" to build without kernels (as on a machine without CUDA).
nvcc=${EASYCONTEXT_NVCC:-$(command -v nvcc || true)}
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
[ "$nvcc" = none ] && nvcc=
if [ -z "$nvcc" ]; then
  echo "[kernels] nvcc not found (PATH or /usr/local/cuda/bin/nvcc): building without CUDA kernels" >&2
  printf 'built=false\nreason=nvcc was not found when this jar was built\n' > "$manifest"
  exit 0
fi
version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
names=()
for cu in "$src"/*.cu; do
  [ -e "$cu" ] || continue
  name=$(basename "$cu" .cu)
  archs="sm_80 sm_90"
  grep -q '^// arch: sm_90a$' "$cu" && archs="$archs sm_90a"
  grep -q '^// arch: sm_90a only$' "$cu" && archs="sm_90a"
  for arch in $archs; do
    target="$out/$name.$arch.ptx"
    # Skip up-to-date outputs so incremental builds stay fast.
    if [ "$target" -nt "$cu" ] && ! find "$src" -name '*.cuh' -newer "$target" | grep -q .; then continue; fi
    "$nvcc" -ptx -arch="compute_${arch#sm_}" -lineinfo -std=c++17 -Werror all-warnings -I"$src" \
      -o "$target" "$cu"
  done
  names+=("$name")
done
{
  echo "built=true"
  echo "nvcc=$version"
  echo "modules=$(IFS=,; echo "${names[*]}")"
} > "$manifest"
echo "[kernels] nvcc $version: ${#names[@]} kernel file(s) -> $out" >&2
