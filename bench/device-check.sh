#!/usr/bin/env bash
# Runs on the GPU machine (after bench/device-prepare.sh here): the runtime's `info`, then every gpu-tagged test,
# with JUnit's reports and a log under $OUT. Extra arguments go to the JUnit console launcher
# (e.g. --select-class io.easycontext.runtime.cuda.KernelAndGemmGpuTest).
set -uo pipefail
out=${OUT:-/tmp/out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
.device/java io.easycontext.runtime.cli.Main info 2>&1 | tee "$out/info.txt"
cp=$(ls .device/lib/*.jar .device/testlib/*.jar 2>/dev/null | tr '\n' ':').device/test-classes
selection=("$@")
[ ${#selection[@]} -eq 0 ] && selection=(--scan-class-path .device/test-classes)
# A kernel that hangs (a barrier's phase wrong in a new kernel) would hold the call until its limit: the tests are
# killed after TEST_TIMEOUT seconds (default 600) and what ran is still reported.
NCCL_NVLS_ENABLE=0 timeout -s KILL "${TEST_TIMEOUT:-600}" .device/jre/bin/java -Xmx32g -jar .device/junit-console.jar execute --class-path "$cp" \
  --include-tag gpu "${selection[@]}" --reports-dir "$out/junit" --details=tree --disable-banner 2>&1 | tee "$out/gpu-tests.txt"
