"""The cluster under benchmark: bring it up, install the CRDs, namespaces, the operator's identity.

Unless `KUBECONFIG` is set, the local control plane is built/started with `hack/build-tools.sh`
and `hack/cluster-up.sh` (both idempotent, about a second when already up). With `KUBECONFIG`
set, that cluster is used as it is.

The operator runs as its own ServiceAccount (`bench-operator`, bound to cluster-admin) through
a kubeconfig holding a short-lived token, so that the API server's audit log can tell its
writes apart from everyone else's.
"""

from __future__ import annotations

import base64
import os
import platform
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

REPO = Path(__file__).resolve().parent.parent
LOCAL_KUBECONFIG = REPO / ".cluster" / "kubeconfig"
LOCAL_AUDIT_LOG = REPO / ".cluster" / "logs" / "audit.log"
TOOLS_BIN = REPO / ".cache" / "bin"
OPERATOR_SA = "bench-operator"
BENCH_LABEL = {"dagwright.io/bench": "true"}


@dataclass
class Cluster:
    """A reachable cluster: its admin kubeconfig, an API client, and whether it is the local one."""

    kubeconfig: str
    local: bool
    api: client.ApiClient
    env: dict[str, str] = field(default_factory=dict)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def audit_log(self) -> Path | None:
        """The API server's audit log, when we can read it (the local cluster, or BENCH_AUDIT_LOG)."""
        given = os.environ.get("BENCH_AUDIT_LOG")
        if given:
            return Path(given)
        return LOCAL_AUDIT_LOG if self.local and LOCAL_AUDIT_LOG.exists() else None


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def connect() -> Cluster:
    """The cluster of `KUBECONFIG`, else the local control plane (started if needed)."""
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '')}"
    given = os.environ.get("KUBECONFIG")
    if given:
        kubeconfig, local = given, Path(given).resolve() == LOCAL_KUBECONFIG.resolve()
    else:
        _run([str(REPO / "hack" / "build-tools.sh")], env, timeout=3600)
        _run([str(REPO / "hack" / "cluster-up.sh")], env, timeout=600)
        kubeconfig, local = str(LOCAL_KUBECONFIG), True
    env["KUBECONFIG"] = kubeconfig
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    configuration.connection_pool_maxsize = 96  # the bare client uses up to 64 threads
    api = client.ApiClient(configuration)
    return Cluster(kubeconfig=kubeconfig, local=local, api=api, env=env)


def install_crds(cluster: Cluster) -> None:
    """`kubectl apply --server-side` the committed CRDs and wait until they are served."""
    _run(["kubectl", "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds")], cluster.env, 120)
    _run(["kubectl", "wait", "--for=condition=Established", "--timeout=60s",
          "crd/workflows.dagwright.io", "crd/workflowruns.dagwright.io"], cluster.env, 90)


def suffix() -> str:
    """A short random suffix so that concurrent or repeated bench runs never share names."""
    return secrets.token_hex(2)


def create_namespace(cluster: Cluster, name: str, timeout: float = 60) -> str:
    """A fresh namespace (label dagwright.io/bench=true) whose default ServiceAccount exists."""
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=BENCH_LABEL)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.core.read_namespaced_service_account("default", name)
            return name
        except ApiException as exc:
            if exc.status != 404:
                raise
        time.sleep(0.1)
    raise RuntimeError(f"namespace {name}: no default ServiceAccount after {timeout}s")


def delete_namespace(cluster: Cluster, name: str, wait: float = 0) -> bool:
    """Delete a namespace; with `wait`, block until it is gone (True) or the time is up (False)."""
    try:
        cluster.core.delete_namespace(name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            cluster.core.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        time.sleep(0.5)
    return wait <= 0


@dataclass
class Identity:
    """The operator's own identity: a ServiceAccount, its cluster-admin binding, a kubeconfig."""

    namespace: str
    binding: str
    kubeconfig: Path

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{OPERATOR_SA}"


def operator_identity(cluster: Cluster, namespace: str, path: Path) -> Identity:
    """Create `bench-operator` in `namespace`, bind it to cluster-admin, write its kubeconfig."""
    cluster.core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name=OPERATOR_SA)))
    binding = f"{OPERATOR_SA}-{namespace}"
    client.RbacAuthorizationV1Api(cluster.api).create_cluster_role_binding(client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=binding, labels=BENCH_LABEL),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=OPERATOR_SA, namespace=namespace)]))
    request = cluster.core.create_namespaced_service_account_token(OPERATOR_SA, namespace, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=7200)))
    path.write_text(yaml.safe_dump(_token_kubeconfig(cluster, request.status.token)))
    path.chmod(0o600)
    return Identity(namespace=namespace, binding=binding, kubeconfig=path)


def _token_kubeconfig(cluster: Cluster, token: str) -> dict[str, Any]:
    """A kubeconfig with the admin kubeconfig's server and CA, and a bearer token."""
    cfg = cluster.api.configuration
    entry: dict[str, Any] = {"server": cfg.host}
    if cfg.ssl_ca_cert:
        entry["certificate-authority-data"] = base64.b64encode(Path(cfg.ssl_ca_cert).read_bytes()).decode()
    if not cfg.verify_ssl:
        entry["insecure-skip-tls-verify"] = True
    if cfg.tls_server_name:
        entry["tls-server-name"] = cfg.tls_server_name
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "bench",
        "clusters": [{"name": "bench", "cluster": entry}],
        "users": [{"name": OPERATOR_SA, "user": {"token": token}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": OPERATOR_SA}}],
    }


def drop_identity(cluster: Cluster, identity: Identity) -> None:
    """Remove the cluster-scoped binding (the ServiceAccount goes with its namespace)."""
    try:
        client.RbacAuthorizationV1Api(cluster.api).delete_cluster_role_binding(identity.binding)
    except ApiException as exc:
        if exc.status != 404:
            raise
    identity.kubeconfig.unlink(missing_ok=True)


def kubernetes_version(cluster: Cluster) -> str:
    return client.VersionApi(cluster.api).get_code().git_version


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model of the machine running the benchmark."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "memory_gib": round(memory_kib / 1024 / 1024, 1),
            "cpu": model, "os": platform.platform(), "python": platform.python_version()}
