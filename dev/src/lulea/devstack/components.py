"""The components of the local platform, in start order. Each is one entry: how to run it and how
to tell it is ready. Adding an operator or a service to `make up` means adding one entry here.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lulea.devstack import accounts, kafka, postgres
from lulea.devstack.layout import DEV, REPO, Layout
from lulea.devstack.process import read_pidfile, tcp_open

Argv = Callable[[Layout], list[str]]
Probe = Callable[[Layout], bool]


@dataclass(frozen=True)
class Component:
    name: str
    argv: Argv
    ready: Probe
    ports: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()        # keys of Layout.tools that must exist before start
    env: Callable[[Layout], dict[str, str]] = field(default=lambda _layout: {})
    prepare: Callable[[Layout], None] | None = None
    start_timeout: float = 90.0
    # What must be ready first: component names, or "cluster" (fleet and CRDs installed).
    # Everything else starts at the same time.
    needs: tuple[str, ...] = ()
    # Platform components (operators, services) are optional until their package exists.
    python_module: str | None = None
    # Why this stack cannot run it (it is then left out), or None; None: always runnable.
    unavailable: Callable[[Layout], str | None] | None = None


def _tool(layout: Layout, name: str) -> str:
    return str(layout.tools[name])


def _https_ok(url: str, token: str | None = None, ca: Path | None = None) -> bool:
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if ca else False
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(url, headers=headers, verify=verify, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _admin_token(layout: Layout) -> str:
    import json

    return str(json.loads((layout.pki / "tokens.json").read_text())["admin"])


def _etcd(layout: Layout) -> list[str]:
    client = f"http://127.0.0.1:{layout.port('etcd')}"
    peer = f"http://127.0.0.1:{layout.port('etcd-peer')}"
    return [
        _tool(layout, "etcd"), "--name=lulea", f"--data-dir={layout.state_dir / 'etcd'}",
        f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=lulea={peer}", "--log-level=warn",
        "--quota-backend-bytes=8589934592", "--unsafe-no-fsync",  # a dev/test store: speed over durability
    ]


def _apiserver(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        _tool(layout, "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{layout.port('etcd')}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        f"--secure-port={layout.port('kube-apiserver')}",
        f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--token-auth-file={pki / 'tokens.csv'}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,"
        "DefaultTolerationSeconds,ResourceQuota,PodSecurity,MutatingAdmissionWebhook,"
        "ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
        # Without kubelets nothing would ever lift the not-ready taint this plugin puts on new
        # Nodes (node lifecycle is off, see the controller manager); kwok reports them Ready.
        "--disable-admission-plugins=TaintNodesByCondition",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--allow-privileged=false", "--profiling=false",
        # Every request of the platform's service accounts, for the RBAC check that compares
        # what the components did with what the chart grants (e2e/test_rbac_audit.py).
        f"--audit-policy-file={pki / 'audit-policy.yaml'}", f"--audit-log-path={audit_log(layout)}",
        "--audit-log-format=json", "--audit-log-maxsize=2048", "--audit-log-maxbackup=1",
        "--max-requests-inflight=1000", "--max-mutating-requests-inflight=500",
        "--v=1",
        # Extra flags for one stack, e.g. bench/placement's alpha gates and API groups.
        *os.environ.get("LULEA_KUBE_APISERVER_ARGS", "").split(),
    ]


def audit_log(layout: Layout) -> Path:
    return layout.logs / "kube-apiserver-audit.log"


def _kubeconfig_flags(layout: Layout) -> list[str]:
    return [f"--kubeconfig={layout.kubeconfig}", f"--authentication-kubeconfig={layout.kubeconfig}",
            f"--authorization-kubeconfig={layout.kubeconfig}"]


def _controller_manager(layout: Layout) -> list[str]:
    return [
        _tool(layout, "kube-controller-manager"), *_kubeconfig_flags(layout),
        "--bind-address=127.0.0.1", f"--secure-port={layout.port('kube-controller-manager')}",
        "--leader-elect=false", "--use-service-account-credentials=true",
        f"--service-account-private-key-file={layout.pki / 'sa.key'}",
        f"--root-ca-file={layout.pki / 'ca.crt'}",
        # No kubelets: node-lifecycle would taint and evict kwok nodes on a lease hiccup.
        "--controllers=*,-node-lifecycle-controller,-persistentvolume-attach-detach-controller",
        "--kube-api-qps=200", "--kube-api-burst=400", "--v=1",
    ]


def _scheduler(layout: Layout) -> list[str]:
    return [
        _tool(layout, "kube-scheduler"), *_kubeconfig_flags(layout),
        "--bind-address=127.0.0.1", f"--secure-port={layout.port('kube-scheduler')}",
        "--leader-elect=false", "--v=1",
    ]


def _kwok(layout: Layout) -> list[str]:
    return [
        _tool(layout, "kwok"), f"--kubeconfig={layout.kubeconfig}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        "--node-lease-duration-seconds=40", "--cidr=10.0.0.1/16", "--node-ip=10.255.0.1",
        f"--server-address=127.0.0.1:{layout.port('kwok')}",
        f"--config={DEV / 'kwok' / 'kwok.yaml'}", f"--config={DEV / 'kwok' / 'stages.yaml'}",
    ]


def ferretdb_on_postgres(layout: Layout) -> bool:
    """Whether this stack runs its own PostgreSQL (FerretDB is then on it, else on SQLite)."""
    managed = read_pidfile(layout.pids / "postgres.pid")
    return managed is not None and managed.alive()


def _ferretdb(layout: Layout) -> list[str]:
    """On this stack's PostgreSQL when it runs one; otherwise on SQLite, said in one line."""
    common = [_tool(layout, "ferretdb"), f"-listen-addr=127.0.0.1:{layout.port('ferretdb')}",
              "-log-level=warn"]
    if ferretdb_on_postgres(layout):
        return [*common, "-handler=postgresql", f"-postgresql-url={postgres.url(layout)}"]
    data = layout.state_dir / "ferretdb"
    data.mkdir(parents=True, exist_ok=True)
    why = postgres.unavailable(layout) or "PostgreSQL is not running in this stack"
    print(f"lulea-stack: FerretDB on SQLite ({data}), not PostgreSQL: {why}", file=sys.stderr)
    return [*common, "-handler=sqlite", f"-sqlite-url=file:{data}/"]


def _postgres_components() -> list[Component]:
    """The PostgreSQL under FerretDB, when this machine has one (else FerretDB uses SQLite)."""
    if postgres.bin_dir() is None:
        return []
    return [Component("postgres", postgres.argv, postgres.ready, ports=("postgres",),
                      prepare=postgres.prepare, start_timeout=60, unavailable=postgres.unavailable)]


def victorialogs_url(layout: Layout) -> str:
    return f"http://127.0.0.1:{layout.port('victorialogs')}"


def _victorialogs(layout: Layout) -> list[str]:
    """The log database (docs/logs.md): loopback only, its data under the state dir, retention
    from LULEA_LOGS_RETENTION (the chart's logs.retention), deletes on (a Project's logs go
    when the Project goes)."""
    data = layout.state_dir / "victorialogs"
    data.mkdir(parents=True, exist_ok=True)
    return [
        _tool(layout, "victoria-logs"), f"-storageDataPath={data}",
        f"-httpListenAddr=127.0.0.1:{layout.port('victorialogs')}",
        f"-retentionPeriod={os.environ.get('LULEA_LOGS_RETENTION', '7d')}",
        "-delete.enable", "-loggerLevel=WARN", "-inmemoryDataFlushInterval=1s",
    ]


def _healthz(port_name: str) -> Probe:
    return lambda layout: _https_ok(f"https://127.0.0.1:{layout.port(port_name)}/healthz")


def _http_get(port_name: str, path: str = "/readyz") -> Probe:
    def probe(layout: Layout) -> bool:
        try:
            url = f"http://127.0.0.1:{layout.port(port_name)}{path}"
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False
    return probe


def _python(module: str) -> Argv:
    return lambda layout: [sys.executable, "-m", module]


def _logs(program: str) -> Argv:
    return lambda layout: [sys.executable, "-m", "lulea.logs", program]


def pod_logs(layout: Layout) -> Path:
    """Where the local collector reads CRI files: the kubelet's /var/log/pods of this stack."""
    path = layout.pod_logs  # where the local pod runtime writes them
    path.mkdir(parents=True, exist_ok=True)
    return path


def _https_get(port_name: str, path: str = "/readyz") -> Probe:
    """Readiness of a Lulea service: its TLS endpoint, verified against the platform root."""
    return lambda layout: _https_ok(f"https://127.0.0.1:{layout.port(port_name)}{path}",
                                    ca=kafka.trust_file(layout))


def platform_env(layout: Layout, component: str, *, serves: bool = False) -> dict[str, str]:
    """What a pod of `component` gets from the chart: its service account's credentials, where
    the CA and Kafka are, the platform root, and LULEA_ENV (local here: nothing else differs)."""
    acct = accounts.account(layout, component)
    env = {
        "LULEA_ENV": "local",
        "LULEA_SERVICE_ACCOUNT": acct.service_account,
        "LULEA_CA_URL": f"https://127.0.0.1:{layout.port('ca')}",
        "LULEA_TRUST_FILE": str(kafka.trust_file(layout)),
        "LULEA_TOKEN_FILE": str(acct.lulea_token),
        "LULEA_IDENTITY_DIR": str(acct.identity_dir),
        "LULEA_KAFKA_BOOTSTRAP": layout.kafka_bootstrap,
        "LULEA_CRL_URL": f"http://127.0.0.1:{layout.port('ca-public')}/crl",
        "KUBECONFIG": str(acct.kubeconfig),
    }
    if serves:
        env["LULEA_SERVER_NAMES"] = '["127.0.0.1"]'
    return env


CONTROL_PLANE: list[Component] = [
    Component("etcd", _etcd, lambda lay: httpx_ok(f"http://127.0.0.1:{lay.port('etcd')}/health"),
              ports=("etcd", "etcd-peer"), tools=("etcd",)),
    Component("kube-apiserver", _apiserver,
              lambda lay: _https_ok(f"{lay.api_server}/readyz", _admin_token(lay), lay.pki / "ca.crt"),
              ports=("kube-apiserver",), tools=("kube-apiserver",), start_timeout=120, needs=("etcd",)),
    Component("kube-controller-manager", _controller_manager, _healthz("kube-controller-manager"),
              ports=("kube-controller-manager",), tools=("kube-controller-manager",),
              needs=("kube-apiserver",)),
    Component("kube-scheduler", _scheduler, _healthz("kube-scheduler"),
              ports=("kube-scheduler",), tools=("kube-scheduler",), needs=("kube-apiserver",)),
    Component("kwok", _kwok, _http_get("kwok", "/healthz"), ports=("kwok",), tools=("kwok",),
              start_timeout=30, needs=("kube-apiserver",)),
]

DATA_PLANE: list[Component] = [
    Component("kafka", kafka.argv, lambda lay: tcp_open(lay.port("kafka")) and kafka.ready(lay),
              ports=("kafka", "kafka-controller", "kafka-ssl"), tools=("kafka",), prepare=kafka.prepare,
              env=kafka.env, start_timeout=120,
              needs=("ferretdb",)),  # the CRL the broker holds at start comes from the CA's records
    *_postgres_components(),
    Component("ferretdb", _ferretdb, lambda lay: tcp_open(lay.port("ferretdb")),
              ports=("ferretdb",), tools=("ferretdb",),
              needs=("postgres",)),  # skipped when there is no postgres component
    Component("victorialogs", _victorialogs, lambda lay: httpx_ok(f"{victorialogs_url(lay)}/health"),
              ports=("victorialogs",), tools=("victoria-logs",), start_timeout=30),
]

# Operators and services: one entry each, started after the CRDs are installed.
# The CA comes first (it certifies every other component); each needs its account first.
CA_NEEDS = ("accounts", "kafka-setup", "ferretdb")
PLATFORM_NEEDS = ("accounts", "kafka-setup", "ferretdb", "ca")
PLATFORM: list[Component] = [
    Component("ca", _python("lulea.ca"), _https_get("ca"), ports=("ca", "ca-public"),
              env=lambda lay: {
                  **platform_env(lay, "ca", serves=True),
                  "LULEA_CA_HOST": "127.0.0.1", "LULEA_CA_PORT": str(lay.port("ca")),
                  "LULEA_CA_PUBLIC_PORT": str(lay.port("ca-public")),
                  "LULEA_CA_MONGO_URI": lay.mongo_uri,
                  "LULEA_CA_CRL_URL": f"http://127.0.0.1:{lay.port('ca-public')}/crl",
                  "LULEA_CA_RESYNC_SECONDS": "30",
              }, python_module="lulea.ca", needs=CA_NEEDS),
    Component("operator-project", _python("lulea.operators.project"),
              _http_get("operator-project", "/healthz"), ports=("operator-project",),
              env=lambda lay: {
                  **platform_env(lay, "operator-project"),
                  "LULEA_PROJECT_HOST": "127.0.0.1",
                  "LULEA_PROJECT_PORT": str(lay.port("operator-project")),
                  # one name across restarts, as a pod restarted in place: it takes its Lease back
                  "LULEA_PROJECT_IDENTITY": "lulea-stack",
                  "LULEA_PROJECT_MEMBER_PORTS": json.dumps(member_ports(lay)),
              }, python_module="lulea.operators.project", needs=PLATFORM_NEEDS),
    Component("schema-registry", _python("lulea.schema_registry"), _https_get("schema-registry"),
              ports=("schema-registry",),
              env=lambda lay: {
                  **platform_env(lay, "schema-registry", serves=True),
                  "LULEA_SCHEMA_REGISTRY_HOST": "127.0.0.1",
                  "LULEA_SCHEMA_REGISTRY_PORT": str(lay.port("schema-registry")),
                  "LULEA_SCHEMA_REGISTRY_MONGO_URI": lay.mongo_uri,
                  "LULEA_SCHEMA_REGISTRY_MONGO_DATABASE": "lulea_schema_registry",
              }, python_module="lulea.schema_registry", needs=PLATFORM_NEEDS),
    # The GPU scheduler mirrors Nodes, Pods and Projects: no Kafka, no database.
    Component("placement", _python("lulea.placement"), _https_get("placement"),
              ports=("placement",),
              env=lambda lay: {
                  **platform_env(lay, "placement", serves=True),
                  "LULEA_PLACEMENT_HOST": "127.0.0.1", "LULEA_PLACEMENT_PORT": str(lay.port("placement")),
                  "LULEA_PLACEMENT_IDENTITY": "lulea-stack",
                  # the dev fleet is small and jobs are short: reserve for a starving gang sooner
                  "LULEA_PLACEMENT_RESERVE_AFTER_SECONDS": "5",
              }, python_module="lulea.placement", needs=("accounts", "ca")),
    Component("operator-gpujob", _python("lulea.operators.gpujob"),
              _http_get("operator-gpujob", "/healthz"), ports=("operator-gpujob",),
              env=lambda lay: {
                  **platform_env(lay, "operator-gpujob"),
                  "LULEA_GPUJOB_HOST": "127.0.0.1", "LULEA_GPUJOB_PORT": str(lay.port("operator-gpujob")),
                  "LULEA_GPUJOB_IDENTITY": "lulea-stack",
                  "LULEA_GPUJOB_MEMBER_KAFKA_BOOTSTRAP": f"127.0.0.1:{lay.port('kafka-ssl')}",
                  "LULEA_GPUJOB_SCHEMA_REGISTRY_URL": f"https://127.0.0.1:{lay.port('schema-registry')}",
                  "LULEA_GPUJOB_RESYNC_SECONDS": "2",
                  # the local runtime: every rank on the host's loopback, a port block per gang
                  "LULEA_GPUJOB_NETWORK": "loopback",
                  "LULEA_GPUJOB_LOOPBACK_PORTS": json.dumps(loopback_ports(lay)),
                  # what the SDK in a job reaches (docs/sdk.md): WebHDFS and the logs gateway
                  "LULEA_GPUJOB_STORAGE_URL": f"https://127.0.0.1:{lay.port('storage')}",
                  "LULEA_GPUJOB_LOGS_URL": f"https://127.0.0.1:{lay.port('logs-gateway')}",
              }, python_module="lulea.operators.gpujob", needs=PLATFORM_NEEDS),
    # Topics: the Kafka topic, its subject in the registry and its ACLs (administers Kafka).
    Component("operator-topic", _python("lulea.operators.topic"),
              _http_get("operator-topic", "/healthz"), ports=("operator-topic",),
              env=lambda lay: {
                  **platform_env(lay, "operator-topic"),
                  "LULEA_TOPIC_HOST": "127.0.0.1", "LULEA_TOPIC_PORT": str(lay.port("operator-topic")),
                  "LULEA_TOPIC_IDENTITY": "lulea-stack",
                  "LULEA_TOPIC_SCHEMA_REGISTRY_URL": f"https://127.0.0.1:{lay.port('schema-registry')}",
                  # drift is put back within this (the e2e drift test waits for it)
                  "LULEA_TOPIC_RESYNC_SECONDS": "10",
                  # per-member client quotas go through Kafka's own kafka-configs (docs/topics.md)
                  **({"LULEA_TOPIC_KAFKA_LIBS": str(lay.tools["kafka"])} if "kafka" in lay.tools else {}),
              }, python_module="lulea.operators.topic", needs=(*PLATFORM_NEEDS, "schema-registry")),
    Component("storage", _python("lulea.storage"), _https_get("storage"), ports=("storage",),
              env=lambda lay: {
                  **platform_env(lay, "storage", serves=True),
                  "LULEA_STORAGE_HOST": "127.0.0.1", "LULEA_STORAGE_PORT": str(lay.port("storage")),
                  "LULEA_STORAGE_MONGO_URI": lay.mongo_uri,
                  "LULEA_STORAGE_MONGO_DATABASE": "lulea_storage",
                  # FerretDB's PostgreSQL: the service makes the GIN indexes FerretDB lacks
                  **({"LULEA_STORAGE_POSTGRES_DSN": postgres.url(lay)} if ferretdb_on_postgres(lay) else {}),
              }, python_module="lulea.storage", needs=PLATFORM_NEEDS),
    Component("operator-dataset", _python("lulea.operators.dataset"),
              _http_get("operator-dataset", "/healthz"), ports=("operator-dataset",),
              env=lambda lay: {
                  **platform_env(lay, "operator-dataset"),
                  "LULEA_DATASET_HOST": "127.0.0.1", "LULEA_DATASET_PORT": str(lay.port("operator-dataset")),
                  "LULEA_DATASET_IDENTITY": "lulea-stack",
                  "LULEA_DATASET_STORAGE_URL": f"https://127.0.0.1:{lay.port('storage')}",
                  "LULEA_DATASET_RESYNC_SECONDS": "5",
              }, python_module="lulea.operators.dataset", needs=(*PLATFORM_NEEDS, "storage")),
    # The log path (docs/logs.md): files -> collector -> Kafka -> indexer -> VictoriaLogs <- gateway.
    Component("logs-collector", _logs("collector"), _http_get("logs-collector"),
              ports=("logs-collector",),
              env=lambda lay: {
                  **platform_env(lay, "logs-collector"),
                  "LULEA_LOGS_COLLECTOR_HOST": "127.0.0.1",
                  "LULEA_LOGS_COLLECTOR_PORT": str(lay.port("logs-collector")),
                  "LULEA_LOGS_COLLECTOR_ROOT": str(pod_logs(lay)),
                  "LULEA_LOGS_COLLECTOR_CHECKPOINT_FILE":
                      str(lay.state_dir / "logs-collector" / "checkpoints.json"),
                  "LULEA_LOGS_COLLECTOR_NODE_NAME": "local",
              }, python_module="lulea.logs", needs=(*PLATFORM_NEEDS, "victorialogs"), start_timeout=180),
    Component("logs-indexer", _logs("indexer"), _http_get("logs-indexer"), ports=("logs-indexer",),
              env=lambda lay: {
                  **platform_env(lay, "logs-indexer"),
                  "LULEA_LOGS_INDEXER_HOST": "127.0.0.1",
                  "LULEA_LOGS_INDEXER_PORT": str(lay.port("logs-indexer")),
                  "LULEA_LOGS_INDEXER_VICTORIALOGS_URL": victorialogs_url(lay),
              }, python_module="lulea.logs", needs=(*PLATFORM_NEEDS, "victorialogs"), start_timeout=180),
    Component("logs-gateway", _logs("gateway"), _https_get("logs-gateway"), ports=("logs-gateway",),
              env=lambda lay: {
                  **platform_env(lay, "logs-gateway", serves=True),
                  "LULEA_LOGS_GATEWAY_HOST": "127.0.0.1",
                  "LULEA_LOGS_GATEWAY_PORT": str(lay.port("logs-gateway")),
                  "LULEA_LOGS_GATEWAY_VICTORIALOGS_URL": victorialogs_url(lay),
                  "LULEA_LOGS_GATEWAY_SWEEP_SECONDS": "5",
              }, python_module="lulea.logs", needs=(*PLATFORM_NEEDS, "victorialogs"), start_timeout=180),
    # The kubelet of every fleet node for pods kwok does not simulate (docs/runtime.md). It acts
    # with the stack's admin credentials: a development convenience, not a chart component.
    Component("pod-runtime", _python("lulea.devstack.runtime"), _http_get("pod-runtime", "/readyz"),
              ports=("pod-runtime",),
              env=lambda lay: {
                  "KUBECONFIG": str(lay.kubeconfig), "LULEA_RUNTIME_KUBECONFIG": str(lay.kubeconfig),
                  "LULEA_RUNTIME_PODS_DIR": str(lay.state_dir / "pod-runtime"),
                  "LULEA_RUNTIME_LOGS_DIR": str(lay.pod_logs),
                  "LULEA_RUNTIME_PIDS_DIR": str(lay.pids),
                  "LULEA_RUNTIME_API_PORT": str(lay.port("kube-apiserver")),
                  "LULEA_RUNTIME_HOST": "127.0.0.1", "LULEA_RUNTIME_PORT": str(lay.port("pod-runtime")),
              }, python_module="lulea.devstack.runtime", needs=("cluster",)),
]


def loopback_ports(layout: Layout) -> list[int]:
    """The ports this stack's gangs meet on (MASTER_PORT): 500 of 10000-19999 per port base, so
    stacks on different bases (a developer's, the tests', each helper's) do not share any, and
    none is in the kernel's ephemeral range (32768+) where outgoing connections take theirs."""
    low = 10000 + ((layout.port_base // 1000) % 20) * 500
    return [low, low + 499]


def member_ports(layout: Layout) -> list[int]:
    """The platform ports a project's pods may reach (its NetworkPolicy)."""
    return [layout.port("kafka-ssl"), layout.port("schema-registry"), layout.port("storage"),
            layout.port("logs-gateway")]


def httpx_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def all_components() -> list[Component]:
    return [*CONTROL_PLANE, *DATA_PLANE, *PLATFORM]


def module_installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


__all__ = ["REPO", "Component", "all_components", "module_installed"]
