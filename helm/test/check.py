"""Assertions on the rendered Helm chart and on the Docker/Compose files. Run through helm/test/run.sh, which
provides $HELM (the helm binary) and PyYAML."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(ROOT, "helm", "easycontext")
GPU_VALUES = os.path.join(CHART, "ci", "gpu-values.yaml")
DOCKER = os.path.join(ROOT, "docker")
DASHBOARDS = os.path.join(DOCKER, "grafana", "dashboards")
HELM = os.environ.get("HELM", "helm")
RELEASE = "ec"

passed = 0
failures = []


def check(condition, what):
    global passed
    if condition:
        passed += 1
    else:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def helm(*args):
    # No cluster is ever contacted: KUBECONFIG points nowhere.
    return subprocess.run([HELM, *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, KUBECONFIG=os.devnull))


def render(*args, chart=CHART):
    out = helm("template", RELEASE, chart, "--namespace", "easy", *args)
    if out.returncode != 0:
        raise SystemExit(f"helm template {' '.join(args)} failed:\n{out.stderr}")
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    return docs, by_kind


def one(by_kind, kind):
    items = by_kind.get(kind, [])
    assert len(items) == 1, f"expected one {kind}, got {len(items)}"
    return items[0]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def value(env, name):
    return env[name].get("value") if name in env else None


def secret_ref(env, name):
    return env.get(name, {}).get("valueFrom", {}).get("secretKeyRef")


def common(name, docs, by_kind, *, gpus, resource="nvidia.com/gpu", runtime=None, shm, grace, service_monitor):
    """What every rendering must satisfy."""
    dep = one(by_kind, "Deployment")
    svc = one(by_kind, "Service")
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    env = env_of(c)
    p = f"[{name}] "

    for d in docs:
        meta = d["metadata"]
        check(len(meta["name"]) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", meta["name"]),
              p + f"{d['kind']} name {meta['name']!r} is a DNS label")
        check(meta.get("labels", {}).get("app.kubernetes.io/instance") == RELEASE,
              p + f"{d['kind']} has the standard labels")

    # One pod that owns the GPUs and the volume: Recreate, never a rolling update.
    check(spec["replicas"] == 1, p + "one replica")
    check(spec["strategy"] == {"type": "Recreate"}, p + "strategy Recreate")
    sel = spec["selector"]["matchLabels"]
    check(sel.items() <= spec["template"]["metadata"]["labels"].items(), p + "selector matches the pod labels")
    check(pod["terminationGracePeriodSeconds"] == grace, p + f"terminationGracePeriodSeconds {grace}")
    check(pod.get("enableServiceLinks") is False, p + "no service links (EASYCONTEXT_* variables)")
    check(pod.get("automountServiceAccountToken") is False, p + "no service account token")
    check(pod.get("runtimeClassName") == runtime, p + f"runtimeClassName {runtime}")

    # Non-root, read-only root filesystem, no privilege escalation.
    psc, csc = pod["securityContext"], c["securityContext"]
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, p + "pod runs as non-root")
    check(psc.get("fsGroup") == psc.get("runAsGroup") == 10001, p + "fsGroup makes /data writable")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", p + "seccomp RuntimeDefault")
    check(csc.get("allowPrivilegeEscalation") is False, p + "no privilege escalation")
    check(csc.get("readOnlyRootFilesystem") is True, p + "read-only root filesystem")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], p + "all capabilities dropped")

    # Probes on Spring Boot's health groups, through the named port.
    check(c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], p + "container port http 8080")
    for probe, path in (("livenessProbe", "/actuator/health/liveness"),
                        ("readinessProbe", "/actuator/health/readiness"),
                        ("startupProbe", "/actuator/health/liveness")):
        check(c.get(probe, {}).get("httpGet") == {"path": path, "port": "http"}, p + f"{probe} on {path}")

    # GPUs from the device plugin.
    limits = c["resources"].get("limits", {})
    if gpus:
        check(limits.get(resource) == gpus and isinstance(limits.get(resource), int),
              p + f"limits {resource}: {gpus} (an integer)")
        check("NVIDIA_VISIBLE_DEVICES" not in env, p + "device plugin chooses the visible GPUs")
    else:
        check(not any(k.startswith("nvidia.com/") for k in limits), p + "no GPU limit")
        check(value(env, "NVIDIA_VISIBLE_DEVICES") == "void", p + "NVIDIA_VISIBLE_DEVICES=void without GPUs")
    check(value(env, "EASYCONTEXT_NODE_GPUS") == str(gpus), p + f"EASYCONTEXT_NODE_GPUS={gpus}")
    check(value(env, "NCCL_NVLS_ENABLE") == "0", p + "NCCL_NVLS_ENABLE=0")
    check(value(env, "EASYCONTEXT_DATA_DIR") == "/data", p + "EASYCONTEXT_DATA_DIR=/data")
    check("MaxRAMPercentage" in (value(env, "JAVA_OPTS") or ""), p + "JAVA_OPTS sizes the heap by the memory limit")

    # Volumes: memory-backed /dev/shm for NCCL, /data, a writable /tmp.
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    check(mounts.get("/dev/shm") == "dshm" and vols["dshm"].get("emptyDir") == {"medium": "Memory", "sizeLimit": shm},
          p + f"/dev/shm is an emptyDir medium Memory, sizeLimit {shm}")
    check(mounts.get("/data") == "data", p + "/data mounted")
    check(mounts.get("/tmp") == "tmp" and "emptyDir" in vols["tmp"], p + "/tmp is a writable emptyDir")

    # Service and ServiceMonitor.
    check(svc["spec"]["selector"] == sel, p + "Service selects the pod")
    check(svc["spec"]["ports"][0]["targetPort"] == "http", p + "Service targets port http")
    monitors = by_kind.get("ServiceMonitor", [])
    check(len(monitors) == (1 if service_monitor else 0), p + f"ServiceMonitor {'present' if service_monitor else 'absent'}")
    for sm in monitors:
        check(sm["apiVersion"] == "monitoring.coreos.com/v1", p + "ServiceMonitor apiVersion monitoring.coreos.com/v1")
        check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
              p + "ServiceMonitor selects the Service")
        ep = sm["spec"]["endpoints"][0]
        check(ep["port"] == "http" and ep["path"] == "/actuator/prometheus", p + "ServiceMonitor scrapes /actuator/prometheus")
        check(sm["spec"]["namespaceSelector"] == {"matchNames": ["easy"]}, p + "ServiceMonitor in the release namespace")
    return dep, c, env, vols


def dashboards_dir_files(d):
    return sorted(os.path.basename(f) for f in glob.glob(os.path.join(d, "*.json")))


def check_dashboard_json():
    """Dashboards are loaded by file provisioning (Compose) and by the Grafana sidecar (Helm): neither resolves the
    __inputs of a dashboard exported 'for sharing', so a ${DS_...} data source must be a template variable."""
    stray = sorted(glob.glob(os.path.join(DOCKER, "grafana", "*.json")))
    if stray:
        print("helm/test: note: neither Compose nor the chart loads " + ", ".join(os.path.relpath(f, ROOT) for f in stray)
              + ": dashboards belong in docker/grafana/dashboards/")
    for f in glob.glob(os.path.join(DASHBOARDS, "*.json")):
        name = os.path.relpath(f, ROOT)
        try:
            d = json.load(open(f))
        except ValueError as e:
            check(False, f"{name} is valid JSON: {e}")
            continue
        check(d.get("uid") and d.get("title"), f"{name} has a uid and a title")
        check("__inputs" not in d, f"{name} has no __inputs (provisioning does not resolve them)")
        variables = {v.get("name"): v.get("type") for v in d.get("templating", {}).get("list", [])}
        for ds in sorted(set(re.findall(r"\$\{(DS_[A-Z0-9_]+)\}", open(f).read()))):
            check(variables.get(ds) == "datasource", f"{name}: ${{{ds}}} is a datasource template variable")


def check_dashboard_copy():
    """The chart carries a copy of docker/grafana/dashboards/*.json (Helm cannot read files outside the chart)."""
    ours = dashboards_dir_files(os.path.join(CHART, "dashboards"))
    theirs = dashboards_dir_files(DASHBOARDS)
    if not theirs and not ours:
        print("helm/test: note: docker/grafana/dashboards/ has no dashboard yet; the ConfigMap is checked with a fixture")
        return
    check(ours == theirs, "helm/easycontext/dashboards/ holds the same files as docker/grafana/dashboards/ "
          f"({ours} vs {theirs}); fix: cp docker/grafana/dashboards/*.json helm/easycontext/dashboards/")
    for f in theirs:
        a, b = os.path.join(DASHBOARDS, f), os.path.join(CHART, "dashboards", f)
        same = os.path.exists(b) and open(a, "rb").read() == open(b, "rb").read()
        check(same, f"helm/easycontext/dashboards/{f} is identical to docker/grafana/dashboards/{f}; "
              f"fix: cp docker/grafana/dashboards/{f} helm/easycontext/dashboards/")


def check_dashboard_configmap():
    chart = CHART
    tmp = None
    if not dashboards_dir_files(os.path.join(CHART, "dashboards")):
        # No dashboard in the chart yet: render a copy of the chart with a small one.
        tmp = tempfile.mkdtemp()
        chart = os.path.join(tmp, "easycontext")
        shutil.copytree(CHART, chart)
        os.makedirs(os.path.join(chart, "dashboards"), exist_ok=True)
        with open(os.path.join(chart, "dashboards", "fixture.json"), "w") as f:
            json.dump({"title": "fixture", "uid": "fixture", "panels": [{"title": "a \"quoted\" {{ brace }}"}]}, f)
    try:
        files = dashboards_dir_files(os.path.join(chart, "dashboards"))
        docs, by_kind = render("-f", GPU_VALUES, chart=chart)
        cms = [d for d in by_kind.get("ConfigMap", []) if d["metadata"]["name"] == f"{RELEASE}-easycontext-dashboards"]
        check(len(cms) == 1, "[dashboard] one dashboards ConfigMap")
        if cms:
            cm = cms[0]
            check(cm["metadata"]["labels"].get("grafana_dashboard") == "1", "[dashboard] label grafana_dashboard: \"1\"")
            check(cm["metadata"]["annotations"].get("grafana_folder") == "EasyContext", "[dashboard] folder annotation")
            check(sorted(cm["data"]) == files, f"[dashboard] ConfigMap keys {files}")
            for f in files:
                want = json.load(open(os.path.join(chart, "dashboards", f)))
                check(json.loads(cm["data"].get(f, "null")) == want, f"[dashboard] {f} embedded unchanged")
        _, off = render("-f", GPU_VALUES, "--set", "monitoring.grafanaDashboard.enabled=false", chart=chart)
        check("ConfigMap" not in off, "[dashboard] no ConfigMap when monitoring.grafanaDashboard.enabled=false")
        _, ns = render("--set", "monitoring.grafanaDashboard.namespace=monitoring", chart=chart)
        check(one(ns, "ConfigMap")["metadata"].get("namespace") == "monitoring", "[dashboard] namespace override")
    finally:
        if tmp:
            shutil.rmtree(tmp)


def check_chart():
    for args in ([], ["-f", GPU_VALUES]):
        out = helm("lint", "--strict", CHART, *args)
        check(out.returncode == 0, f"helm lint --strict {' '.join(args)}: {out.stdout}{out.stderr}")

    # Default values: one GPU, H2 on a new claim, no ServiceMonitor.
    docs, k = render()
    dep, c, env, vols = common("default", docs, k, gpus=1, shm="16Gi", grace=600, service_monitor=False)
    with_dashboards = ["ConfigMap"] if dashboards_dir_files(os.path.join(CHART, "dashboards")) else []
    check(sorted(k) == sorted(with_dashboards + ["Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"]),
          f"[default] kinds {sorted(k)}")
    pvc = one(k, "PersistentVolumeClaim")
    check(vols["data"].get("persistentVolumeClaim") == {"claimName": pvc["metadata"]["name"]}, "[default] /data is the claim")
    check(pvc["spec"]["resources"]["requests"]["storage"] == "200Gi", "[default] claim size")
    check(pvc["metadata"]["annotations"].get("helm.sh/resource-policy") == "keep", "[default] claim kept on uninstall")
    check("storageClassName" not in pvc["spec"], "[default] default StorageClass")
    check("SPRING_PROFILES_ACTIVE" not in env, "[default] H2: no Spring profile")
    check("EASYCONTEXT_SECURITY_ADMIN_TOKENS" not in env, "[default] no token Secret: the service generates one")
    check(c["image"] == "easycontext-service:0.1.0", "[default] image tag from appVersion")
    check("nodeSelector" not in dep["spec"]["template"]["spec"], "[default] no nodeSelector")

    # The GPU values: 2 GPUs, runtimeClass nvidia, GPU taint tolerated, ServiceMonitor on.
    docs, k = render("-f", GPU_VALUES)
    dep, c, env, vols = common("gpu", docs, k, gpus=2, runtime="nvidia", shm="32Gi", grace=900, service_monitor=True)
    pod = dep["spec"]["template"]["spec"]
    check({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod.get("tolerations", []),
          "[gpu] tolerates the nvidia.com/gpu taint")
    check(pod.get("nodeSelector") == {"nvidia.com/gpu.present": "true"}, "[gpu] nodeSelector")
    check(c["resources"]["limits"].get("memory") == "128Gi", "[gpu] memory limit kept beside the GPU limit")
    check(float(value(env, "EASYCONTEXT_NODE_GPU_PEAK_FLOPS")) == 989e12, "[gpu] peak FLOP/s for MFU")
    check(one(k, "ServiceMonitor")["metadata"]["labels"].get("release") == "kube-prometheus-stack",
          "[gpu] ServiceMonitor carries the Prometheus selector label")

    # CPU only, PostgreSQL and API tokens from Secrets, an existing claim, a MIG resource elsewhere.
    docs, k = render("--set", "gpu.count=0", "--set", "postgresql.enabled=true",
                     "--set", "postgresql.url=jdbc:postgresql://db.easy:5432/easycontext",
                     "--set", "postgresql.existingSecret=ec-db", "--set", "auth.existingSecret=ec-tokens",
                     "--set", "auth.anonymousRead=false", "--set", "persistence.existingClaim=ec-data",
                     "--set", "monitoring.serviceMonitor.enabled=true")
    dep, c, env, vols = common("cpu-postgres", docs, k, gpus=0, shm="16Gi", grace=600, service_monitor=True)
    check("PersistentVolumeClaim" not in k, "[cpu-postgres] no claim created for an existing one")
    check(vols["data"].get("persistentVolumeClaim") == {"claimName": "ec-data"}, "[cpu-postgres] existing claim mounted")
    check(value(env, "SPRING_PROFILES_ACTIVE") == "postgres", "[cpu-postgres] Spring profile postgres")
    check(value(env, "SPRING_DATASOURCE_URL") == "jdbc:postgresql://db.easy:5432/easycontext", "[cpu-postgres] JDBC URL")
    check(secret_ref(env, "SPRING_DATASOURCE_USERNAME") == {"name": "ec-db", "key": "username"}, "[cpu-postgres] user from Secret")
    check(secret_ref(env, "SPRING_DATASOURCE_PASSWORD") == {"name": "ec-db", "key": "password"}, "[cpu-postgres] password from Secret")
    check(secret_ref(env, "EASYCONTEXT_SECURITY_ADMIN_TOKENS") == {"name": "ec-tokens", "key": "admin-tokens"},
          "[cpu-postgres] admin tokens from Secret")
    check(secret_ref(env, "EASYCONTEXT_SECURITY_READ_TOKENS") == {"name": "ec-tokens", "key": "read-tokens", "optional": True},
          "[cpu-postgres] read tokens from Secret, optional")
    check(value(env, "EASYCONTEXT_SECURITY_ANONYMOUS_READ") == "false", "[cpu-postgres] anonymous read off")

    docs, k = render("--set", "gpu.resourceName=nvidia.com/mig-3g.40gb", "--set", "persistence.enabled=false")
    dep, c, env, vols = common("mig", docs, k, gpus=1, resource="nvidia.com/mig-3g.40gb", shm="16Gi", grace=600,
                               service_monitor=False)
    check(vols["data"] == {"name": "data", "emptyDir": {}}, "[mig] persistence off: /data is an emptyDir")
    for cls, want in (("-", ""), ("fast-ssd", "fast-ssd")):
        _, k = render("--set", f"persistence.storageClass={cls}", "--set", "persistence.retain=false")
        pvc = one(k, "PersistentVolumeClaim")
        check(pvc["spec"].get("storageClassName") == want and "annotations" not in pvc["metadata"],
              f"[pvc] storageClass {cls!r} gives storageClassName {want!r}, no keep annotation")

    # Values the schema (or a required value) must reject: helm template fails and says why.
    bad = {
        "gpu.count=-1": (["--set", "gpu.count=-1"], "/gpu/count"),
        "gpu.count=\"2\" (a string)": (["--set-string", "gpu.count=2"], "/gpu/count"),
        "gpu.count=1.5": (["--set", "gpu.count=1.5"], "/gpu/count"),
        "misspelt gpu.cuont": (["--set", "gpu.cuont=2"], "cuont"),
        "unknown top-level key": (["--set", "replicaCount=2"], "replicaCount"),
        "service.type=Ingress": (["--set", "service.type=Ingress"], "/service/type"),
        "shm.sizeLimit=lots": (["--set", "shm.sizeLimit=lots"], "/shm/sizeLimit"),
        "image.pullPolicy=Sometimes": (["--set", "image.pullPolicy=Sometimes"], "/image/pullPolicy"),
        "serviceMonitor.interval=soon": (["--set", "monitoring.serviceMonitor.interval=soon"], "interval"),
        "postgresql without url/secret": (["--set", "postgresql.enabled=true"], "/postgresql/"),
        "terminationGracePeriodSeconds=-5": (["--set", "terminationGracePeriodSeconds=-5"], "terminationGracePeriodSeconds"),
    }
    for what, (args, says) in bad.items():
        out = helm("template", RELEASE, CHART, *args)
        check(out.returncode != 0 and says in out.stderr, f"[schema] rejects {what} (stderr: {out.stderr.strip()[:300]})")

    # NOTES.txt, as `helm install` shows it (a client-side dry run reaches no cluster).
    out = helm("install", RELEASE, CHART, "--dry-run=client", "--namespace", "easy")
    notes = out.stdout.split("\nNOTES:\n", 1)[-1] if out.returncode == 0 else ""
    check("kubectl -n easy exec deploy/ec-easycontext -- cat /data/admin-token" in notes
          and "port-forward svc/ec-easycontext 8080:8080" in notes, f"[notes] NOTES.txt renders: {out.stderr}")
    out = helm("install", RELEASE, CHART, "--dry-run=client", "--namespace", "easy", "--set", "auth.existingSecret=tok")
    check("get secret tok -o jsonpath='{.data.admin-tokens}'" in out.stdout, "[notes] token from the Secret")

    # The chart packages, with what it needs and without its CI values.
    with tempfile.TemporaryDirectory() as d:
        out = helm("package", CHART, "--destination", d)
        check(out.returncode == 0 and glob.glob(os.path.join(d, "easycontext-*.tgz")), f"helm package: {out.stderr}")
        if out.returncode == 0:
            listing = subprocess.run(["tar", "tzf", glob.glob(os.path.join(d, "*.tgz"))[0]], capture_output=True, text=True).stdout
            check("easycontext/values.schema.json" in listing and "easycontext/templates/NOTES.txt" in listing,
                  "packaged chart holds the schema and NOTES.txt")
            check("easycontext/ci/" not in listing, "packaged chart leaves ci/ out")


class ComposeLoader(yaml.SafeLoader):
    pass


ComposeLoader.add_constructor("!reset", lambda loader, node: "!reset")


def check_docker():
    dockerfile = open(os.path.join(DOCKER, "Dockerfile")).read()
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    check(len(froms) == 2 and "-devel-" in froms[0] and "-runtime-" in froms[1] and all("nvidia/cuda:" in f for f in froms),
          "[docker] build on nvidia/cuda devel, run on nvidia/cuda runtime")
    check(re.search(r"^ARG CUDA_VERSION=13\.0\.\d+$", dockerfile, re.M) is not None, "[docker] CUDA 13.0.x")
    build, runtime = dockerfile.split("\nFROM ", 2)[1:]
    check("mvn -B -ntp package -DskipTests" in build and "openjdk-17-jdk-headless" in build, "[docker] Maven build with JDK 17")
    check("openjdk-17-jre-headless" in runtime and not re.search(r"openjdk-\d+-jdk", runtime),
          "[docker] JRE only at run time")
    check(re.search(r"^USER 10001", runtime, re.M) is not None, "[docker] non-root user")
    check("EXPOSE 8080" in runtime and "/actuator/health/liveness" in runtime and "HEALTHCHECK" in runtime,
          "[docker] port 8080, HEALTHCHECK on liveness")
    for s in ("EASYCONTEXT_DATA_DIR=/data", "NCCL_NVLS_ENABLE=0", "MaxRAMPercentage", 'VOLUME ["/data"]'):
        check(s in runtime, f"[docker] {s}")
    ignore = open(os.path.join(ROOT, ".dockerignore")).read().split()
    check(".git" in ignore and "**/target" in ignore, "[docker] .dockerignore keeps .git and build outputs out")

    compose = yaml.load(open(os.path.join(DOCKER, "compose.yaml")), Loader=ComposeLoader)
    svcs = compose["services"]
    check(sorted(svcs) == ["grafana", "postgres", "prometheus", "service"], "[compose] services")
    check(all("healthcheck" in s for s in svcs.values()), "[compose] every service has a healthcheck")
    s = svcs["service"]
    check(s["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}, "[compose] service built from docker/Dockerfile")
    check(s["depends_on"]["postgres"]["condition"] == "service_healthy", "[compose] service waits for a healthy PostgreSQL")
    check(svcs["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy", "[compose] Grafana waits for Prometheus")
    check(s["environment"]["SPRING_PROFILES_ACTIVE"] == "postgres"
          and s["environment"]["SPRING_DATASOURCE_URL"].startswith("jdbc:postgresql://postgres:5432/"),
          "[compose] service on the postgres profile")
    (dev,) = s["deploy"]["resources"]["reservations"]["devices"]
    check(dev["driver"] == "nvidia" and dev["capabilities"] == ["gpu"], "[compose] NVIDIA GPU reservation")
    check("/actuator/health/" in " ".join(s["healthcheck"]["test"]), "[compose] service healthcheck on actuator health")
    check(svcs["postgres"]["image"].startswith("postgres:15"), "[compose] PostgreSQL 15")
    cpu = yaml.load(open(os.path.join(DOCKER, "compose.cpu.yaml")), Loader=ComposeLoader)
    check(cpu["services"]["service"]["deploy"] == "!reset", "[compose] CPU override drops the GPU reservation")

    prom = yaml.safe_load(open(os.path.join(DOCKER, "prometheus", "prometheus.yml")))
    job = next(j for j in prom["scrape_configs"] if j["job_name"] == "easycontext-service")
    check(job["metrics_path"] == "/actuator/prometheus" and job["static_configs"][0]["targets"] == ["service:8080"],
          "[prometheus] scrapes service:8080/actuator/prometheus")
    check(any(v.startswith("./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml") for v in svcs["prometheus"]["volumes"]),
          "[prometheus] config mounted")

    prov = os.path.join(DOCKER, "grafana", "provisioning")
    ds = yaml.safe_load(open(os.path.join(prov, "datasources", "prometheus.yaml")))["datasources"][0]
    check(ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090" and ds["uid"] == "prometheus",
          "[grafana] Prometheus data source, uid prometheus")
    provider = yaml.safe_load(open(os.path.join(prov, "dashboards", "easycontext.yaml")))["providers"][0]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in svcs["grafana"]["volumes"] if v.startswith("./"))
    check(mounts.get("./grafana/dashboards") == provider["options"]["path"], "[grafana] provider reads the mounted dashboards")
    check(mounts.get("./grafana/provisioning") == "/etc/grafana/provisioning", "[grafana] provisioning mounted")


def main():
    check_dashboard_json()
    check_dashboard_copy()
    check_chart()
    check_dashboard_configmap()
    check_docker()
    if failures:
        print(f"helm/test: {len(failures)} of {passed + len(failures)} checks FAILED", file=sys.stderr)
        sys.exit(1)
    print(f"helm/test: all {passed} chart and Docker checks passed ({HELM_VERSION})")


HELM_VERSION = helm("version", "--short").stdout.strip()

if __name__ == "__main__":
    main()
