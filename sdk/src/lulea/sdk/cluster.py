"""`lulea login` from the kubeconfig in use: who the API server says you are, where the platform
is (the ConfigMap `lulea-endpoints` the chart publishes in the platform namespace), and a
short-lived member certificate from the CA, asked with your own token for a key made here
(the key never leaves this machine). Saved under the config directory (lulea.sdk.config).

The kubeconfig's user must authenticate with a bearer token: `token`, `tokenFile`, or an
`exec` credential plugin (OIDC's kubelogin); client-certificate users have none to give the CA."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lulea.sdk.config import PROJECT_NAME, Config, Endpoints, save_login
from lulea.sdk.errors import LuleaError, NotAMember, NotFound

PLATFORM_NAMESPACE = "lulea-system"
ENDPOINTS_CONFIGMAP = "lulea-endpoints"
GPUJOBS = "/apis/lulea.io/v1alpha1/namespaces/{project}/gpujobs"


@dataclass(frozen=True)
class Kubeconfig:
    """The current context's server, its CA and the user's bearer token."""

    path: Path
    context: str
    server: str
    ca_pem: bytes | None
    insecure: bool
    token: str
    namespace: str | None = None

    @classmethod
    def load(cls, path: Path | None = None, context: str | None = None,
             environ: Mapping[str, str] | None = None) -> Kubeconfig:
        env = os.environ if environ is None else environ
        listed = [Path(p) for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p]
        candidates = [path] if path else listed
        candidates = candidates or [Path.home() / ".kube" / "config"]
        docs = []
        for candidate in candidates:
            try:
                docs.append((candidate, yaml.safe_load(candidate.read_text()) or {}))
            except FileNotFoundError:
                continue
            except (OSError, yaml.YAMLError) as exc:
                raise LuleaError(f"cannot read the kubeconfig {candidate}: {exc}") from None
        if not docs:
            raise LuleaError(f"no kubeconfig at {', '.join(map(str, candidates))}: set KUBECONFIG or pass "
                             "--kubeconfig (for the local platform: .lulea/kubeconfig-<user>)")
        name = context or next((d.get("current-context") for _, d in docs if d.get("current-context")), None)
        if not name:
            raise LuleaError("the kubeconfig has no current-context: pass --context")

        def find(kind: str, key: str) -> tuple[Path, dict[str, Any]]:
            for where, doc in docs:
                for entry in doc.get(kind) or []:
                    if entry.get("name") == key:
                        return where, entry.get(kind[:-1]) or {}
            raise LuleaError(f"the kubeconfig has no {kind[:-1]} {key!r}")

        where, ctx = find("contexts", name)
        cluster_file, cluster = find("clusters", ctx.get("cluster", ""))
        user_file, user = find("users", ctx.get("user", ""))
        return cls(path=where, context=name, server=str(cluster.get("server", "")).rstrip("/"),
                   ca_pem=_ca(cluster, cluster_file.parent),
                   insecure=bool(cluster.get("insecure-skip-tls-verify")),
                   token=_token(user, user_file.parent, name), namespace=ctx.get("namespace"))

    def client(self, timeout: float = 30.0) -> httpx.Client:
        verify: ssl.SSLContext | bool = False if self.insecure else ssl.create_default_context()
        if self.ca_pem and not self.insecure:
            verify = ssl.create_default_context(cadata=self.ca_pem.decode())
        return httpx.Client(base_url=self.server, verify=verify, timeout=timeout,
                            headers={"Authorization": f"Bearer {self.token}"})


def _ca(cluster: Mapping[str, Any], base: Path) -> bytes | None:
    if cluster.get("certificate-authority-data"):
        return base64.b64decode(str(cluster["certificate-authority-data"]))
    if cluster.get("certificate-authority"):
        return (base / str(cluster["certificate-authority"])).read_bytes()
    return None


def _token(user: Mapping[str, Any], base: Path, context: str) -> str:
    if user.get("token"):
        return str(user["token"])
    if user.get("tokenFile"):
        return (base / str(user["tokenFile"])).read_text().strip()
    if user.get("exec"):
        return _exec_token(dict(user["exec"]))
    raise LuleaError(f"the kubeconfig user of context {context!r} has no bearer token (token, tokenFile or "
                     "an exec plugin); lulea login asks the CA with your token, a client certificate "
                     "cannot be passed on")


def _exec_token(spec: Mapping[str, Any]) -> str:
    """A client-go credential plugin (ExecCredential), as kubectl runs it."""
    env = {**os.environ, **{e["name"]: e["value"] for e in spec.get("env") or []}}
    try:
        out = subprocess.run([spec["command"], *(spec.get("args") or [])], env=env, capture_output=True,
                             text=True, timeout=120, check=True).stdout
        return str(json.loads(out)["status"]["token"])
    except (OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
        raise LuleaError(f"the kubeconfig's exec plugin {spec.get('command')!r} gave no token: "
                         f"{exc}") from None


def who(kube: Kubeconfig) -> str:
    """The user name the API server knows the token by (SelfSubjectReview)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    with kube.client() as api:
        answer = _call(api, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", kube, json=body)
    return str(answer.json()["status"]["userInfo"]["username"])


def discover(kube: Kubeconfig, namespace: str = PLATFORM_NAMESPACE) -> tuple[Endpoints, bytes]:
    """The platform's member endpoints and trust bundle, from the ConfigMap the chart publishes."""
    with kube.client() as api:
        answer = api.get(f"/api/v1/namespaces/{namespace}/configmaps/{ENDPOINTS_CONFIGMAP}")
    if answer.status_code in (403, 404):
        raise LuleaError(f"this cluster ({kube.server}) publishes no Lulea endpoints (ConfigMap "
                         f"{namespace}/{ENDPOINTS_CONFIGMAP}): is Lulea installed there? ask your platform "
                         f"team, or pass --platform-namespace")
    _check(answer, kube)
    data = answer.json().get("data") or {}
    endpoints = Endpoints(kafka_bootstrap=data.get("kafkaBootstrap") or None,
                          schema_registry_url=data.get("schemaRegistryUrl") or None,
                          storage_url=data.get("storageUrl") or None, logs_url=data.get("logsUrl") or None,
                          ca_url=data.get("caUrl") or None)
    trust = str(data.get("ca.crt") or "").encode()
    if not endpoints.ca_url or not trust.strip():
        raise LuleaError(f"ConfigMap {namespace}/{ENDPOINTS_CONFIGMAP} names no CA (caUrl, ca.crt): "
                         "ask your platform team to set the chart's values `endpoints` and `ca.trustBundle`")
    return endpoints, trust


def member_csr(project: str, user: str) -> tuple[str, bytes]:
    """(CSR PEM, private key PEM) for the member `<project>__<user>` (ECDSA P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{project}__{user}")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def sign_member(ca_url: str, trust: bytes, token: str, project: str, user: str) -> tuple[bytes, bytes, bytes]:
    """(certificate + chain, key, trust) of a fresh member certificate from the CA."""
    csr, key_pem = member_csr(project, user)
    context = ssl.create_default_context(cadata=trust.decode())
    with httpx.Client(base_url=ca_url, verify=context, timeout=30) as ca:
        try:
            answer = ca.post("/v1/certificates/sign", headers={"Authorization": f"Bearer {token}"},
                             json={"csr": csr, "profile": "member", "project": project})
        except httpx.HTTPError as exc:
            raise LuleaError(f"cannot reach the CA at {ca_url}: {exc}") from None
    if answer.status_code == 403 and "not a member" in answer.text:
        raise NotAMember(project, user)
    if answer.status_code == 401:
        raise LuleaError("the CA did not accept your token; log in to the cluster again (kubectl) and "
                         "retry, or ask your platform team whether people may log in (CA setting "
                         "LULEA_CA_PEOPLE_MAY_LOGIN)")
    if answer.status_code != 201:
        raise LuleaError(f"the CA refused the certificate: {answer.status_code} {_message(answer)}")
    body = answer.json()
    chain = str(body["chain"]).encode()
    return (str(body["certificate"]).encode() + chain, key_pem, chain + trust)


def login(project: str, *, kubeconfig: Path | None = None, context: str | None = None,
          platform_namespace: str = PLATFORM_NAMESPACE, directory: Path,
          environ: Mapping[str, str] | None = None) -> Config:
    if not PROJECT_NAME.match(project):
        raise LuleaError(f"{project!r} is not a project name (lowercase letters, digits and '-')")
    kube = Kubeconfig.load(kubeconfig, context, environ)
    user = who(kube)
    if user.startswith("system:serviceaccount:"):
        raise LuleaError(f"the kubeconfig authenticates as the service account {user}; lulea login is "
                         "for people (a job gets its certificate mounted)")
    endpoints, trust = discover(kube, platform_namespace)
    assert endpoints.ca_url is not None
    cert, key, ca = sign_member(endpoints.ca_url, trust, kube.token, project, user)
    saved = save_login(directory, project, user, endpoints, cert_pem=cert, key_pem=key, ca_pem=ca)
    _remember_kube(directory, project, kube)
    return saved


def _remember_kube(directory: Path, project: str, kube: Kubeconfig) -> None:
    """Which kubeconfig and context the login came from: `lulea jobs` reads GpuJobs with it."""
    path = directory / "config.json"
    data = json.loads(path.read_text())
    data["projects"][project]["kube"] = {"kubeconfig": str(kube.path), "context": kube.context}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".config.json.")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def saved_kube(config: Config) -> Kubeconfig:
    """The kubeconfig a laptop login came from (or the one in use now)."""
    if config.in_job:
        raise LuleaError("inside a job, read the job's status with kubectl (no kubeconfig here)")
    data = json.loads((Path(config.source) / "config.json").read_text())
    kube = (data.get("projects", {}).get(config.project) or {}).get("kube") or {}
    path = Path(kube["kubeconfig"]) if kube.get("kubeconfig") else None
    return Kubeconfig.load(path, kube.get("context"))


def gpujob(kube: Kubeconfig, project: str, job: str) -> dict[str, Any]:
    with kube.client() as api:
        answer = api.get(f"{GPUJOBS.format(project=project)}/{job}")
    if answer.status_code == 404:
        raise NotFound(f"no GpuJob {job!r} in project {project} (kubectl get gpujobs -n {project})")
    if answer.status_code == 403:
        raise NotAMember(project)
    _check(answer, kube)
    result: dict[str, Any] = answer.json()
    return result


def _call(api: httpx.Client, method: str, path: str, kube: Kubeconfig, **kwargs: Any) -> httpx.Response:
    try:
        answer = api.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise LuleaError(f"cannot reach the API server {kube.server}: {exc}") from None
    _check(answer, kube)
    return answer


def _check(answer: httpx.Response, kube: Kubeconfig) -> None:
    if answer.status_code == 401:
        raise LuleaError(f"the API server {kube.server} did not accept the token of context "
                         f"{kube.context!r}: refresh your cluster credentials")
    if answer.status_code >= 400:
        raise LuleaError(f"the API server answered {answer.status_code}: {_message(answer)}")


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("message") or answer.text)
    except ValueError:
        return answer.text[:300]
