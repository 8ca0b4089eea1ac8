#!/usr/bin/env bash
# Run here, before a device call: packs into .device/ what the GPU machine needs to check and time this build —
# the slim JRE and runtime jars (../shared/device/bundle.sh), the test classes with their test-only jars, and
# JUnit's console launcher. Then: device run, carry [".device"], command "bash bench/device-check.sh".
#   bench/device-prepare.sh    # BUILD_DIR_NAME=target-x builds into another folder; SOURCE_DIR=dir builds another
#                              # checkout of the project (a git worktree, say) and packs it here
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
build=${BUILD_DIR_NAME:-target}
src=${SOURCE_DIR:-$here}
mvnb() { (cd "$src" && mvn -q -Dbuild.dir.name="$build" -pl gpu-runtime "$@"); }
mvnb -am package -DskipTests
tmp=$(mktemp -d)
mvnb dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
cp "$src"/gpu-runtime/"$build"/gpu-runtime.jar "$tmp"/
BUNDLE_JARS="$tmp" ../shared/device/bundle.sh
rm -rf "$tmp"
mkdir -p .device/testlib
cp -r "$src"/gpu-runtime/"$build"/test-classes .device/test-classes
# Test-only jars: JUnit itself comes inside the console launcher; byte-buddy (9 MB, for AssertJ's soft-assertion
# proxies, which the GPU tests do not use) would push the bundle over the device call's 64 MiB.
mvnb dependency:copy-dependencies -DexcludeScope=runtime -DexcludeArtifactIds=byte-buddy \
  -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian -DoutputDirectory="$here/.device/testlib"
list=$(mktemp)
mvnb dependency:list -DincludeArtifactIds=junit-jupiter-api -DoutputFile="$list"
junit=$(sed -n 's/.*junit-jupiter-api:jar:\([^:]*\):.*/\1/p' "$list" | head -1)
rm -f "$list"
mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:"$junit" -DoutputDirectory="$here/.device"
mv .device/junit-platform-console-standalone-*.jar .device/junit-console.jar
# A device call carries at most 64 MiB with the working tree: jars that no GPU test or bench loads stay here —
# JFreeChart (plots are drawn here from the runs' JSON) and, unless DEVICE_TOKENIZERS=1, the Hugging Face
# tokenizers' 4.8 MB native jar (GPU runs use synthetic tokens).
rm -f .device/lib/jfreechart-*.jar
[ "${DEVICE_TOKENIZERS:-0}" = 1 ] || rm -f .device/lib/tokenizers-*.jar
du -sh .device | sed 's/^/device bundle: /'
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "with the working tree: $(( ($(du -sb .device | cut -f1) + tree) >> 20 )) MiB of a device call's 64"
# The PyTorch peer runs beside ours in the same device call.
cp ../shared/bench/torch_peer.py .device/
