"""The stack's own credentials: a small CA for the API server's serving certificate, the
service-account signing key, a static token per person, and a kubeconfig per person.

This CA only secures the local control plane; the platform's member certificates come from
services/ca. Everything is created once per state directory and reused on the next `up`.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from lulea.devstack.layout import USERS, Layout

ADMIN = "admin"
INSTALLER = "installer"  # a platform team member who runs `helm install`, not a cluster admin
INSTALLERS = "lulea:installers"
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  # What the platform's own components do (their service accounts), for the RBAC check.
  - level: Metadata
    userGroups: ["system:serviceaccounts:lulea-system"]
  - level: None
"""


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def installer_rbac() -> str:
    """What installing the chart takes, and no more: create and change the kinds it renders,
    and grant (escalate, bind) the rights its roles hold, which RBAC demands of whoever creates
    a role. `helm install` by such a person is tested against the API server (e2e)."""
    rules = [
        {"apiGroups": [""], "resources": ["serviceaccounts", "services", "configmaps"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "daemonsets", "statefulsets"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
        {"apiGroups": ["batch"], "resources": ["jobs"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
        {"apiGroups": ["rbac.authorization.k8s.io"],
         "resources": ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
         "verbs": ["get", "list", "create", "update", "patch", "delete", "escalate", "bind"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["get", "list", "create", "update", "patch"]},
        {"apiGroups": ["admissionregistration.k8s.io"],
         "resources": ["validatingadmissionpolicies", "validatingadmissionpolicybindings",
                       "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "lulea-installer"}, "rules": rules}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "lulea-installer"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "lulea-installer"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": INSTALLERS}]}
    return yaml.safe_dump_all([role, binding])


def ensure_control_plane_pki(layout: Layout) -> None:
    pki = layout.pki
    (pki / "audit-policy.yaml").write_text(AUDIT_POLICY)
    if (pki / "apiserver.crt").exists():
        return
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("lulea-local-control-plane-ca"))
        .issuer_name(_name("lulea-local-control-plane-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                  "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
    ] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.96.0.1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (pki / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(pki / "ca.key", _pem_key(ca_key))
    (pki / "apiserver.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(pki / "apiserver.key", _pem_key(key))
    _write_private(pki / "sa.key", _pem_key(sa_key))
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def ensure_tokens(layout: Layout) -> dict[str, str]:
    """Static bearer tokens: admin is in system:masters; the installer may install the chart
    and nothing else; the people have no rights until a Project binds them."""
    tokens_json = layout.pki / "tokens.json"
    tokens: dict[str, str] = json.loads(tokens_json.read_text()) if tokens_json.exists() else {}
    missing = [u for u in (ADMIN, INSTALLER, *USERS) if u not in tokens]
    if missing:
        tokens |= {user: secrets.token_urlsafe(24) for user in missing}
        _write_private(tokens_json, json.dumps(tokens).encode())
    rows = [f'{tokens[ADMIN]},{ADMIN},uid-{ADMIN},"system:masters"']
    rows.append(f'{tokens[INSTALLER]},{INSTALLER},uid-{INSTALLER},"{INSTALLERS}"')
    rows += [f'{tokens[u]},{u},uid-{u},"lulea:people"' for u in USERS]
    _write_private(layout.pki / "tokens.csv", ("\n".join(rows) + "\n").encode())
    return tokens


def write_kubeconfigs(layout: Layout, tokens: dict[str, str]) -> None:
    """`kubeconfig` is the admin's; `kubeconfig-<user>` acts as that person."""
    ca_data = (layout.pki / "ca.crt").read_bytes()
    for user, token in tokens.items():
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "lulea-local", "cluster": {
                "server": layout.api_server,
                "certificate-authority-data": base64.b64encode(ca_data).decode(),
            }}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": f"lulea-local-{user}",
                          "context": {"cluster": "lulea-local", "user": user}}],
            "current-context": f"lulea-local-{user}",
        }
        path = layout.kubeconfig if user == ADMIN else layout.state_dir / f"kubeconfig-{user}"
        _write_private(path, yaml.safe_dump(config).encode())
