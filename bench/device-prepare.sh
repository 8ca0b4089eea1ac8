#!/usr/bin/env bash
# Run here, before a device call: packs into .device/ what the GPU machine needs to check and time this build —
# the slim JRE and runtime jars (../shared/device/bundle.sh), the test classes with their test-only jars, and
# JUnit's console launcher. Then: device run, carry [".device"], command "bash bench/device-check.sh".
#   bench/device-prepare.sh          # BUILD_DIR_NAME=target-x to build into another folder
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR_NAME:-target}
mvn -q -Dbuild.dir.name="$build" -pl gpu-runtime -am package -DskipTests
tmp=$(mktemp -d)
mvn -q -Dbuild.dir.name="$build" -pl gpu-runtime dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
cp gpu-runtime/"$build"/gpu-runtime.jar "$tmp"/
BUNDLE_JARS="$tmp" ../shared/device/bundle.sh
rm -rf "$tmp"
mkdir -p .device/testlib
cp -r gpu-runtime/"$build"/test-classes .device/test-classes
# Test-only jars: JUnit itself comes inside the console launcher.
mvn -q -Dbuild.dir.name="$build" -pl gpu-runtime dependency:copy-dependencies -DexcludeScope=runtime \
  -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian -DoutputDirectory="$PWD/.device/testlib"
junit=$(mvn -q -Dbuild.dir.name="$build" -pl gpu-runtime help:evaluate -Dexpression=junit-jupiter.version -DforceStdout)
mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:"$junit" -DoutputDirectory="$PWD/.device"
mv .device/junit-platform-console-standalone-*.jar .device/junit-console.jar
du -sh .device | sed 's/^/device bundle: /'
