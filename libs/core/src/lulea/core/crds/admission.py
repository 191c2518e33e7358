"""Admission rules CRD validation cannot express, as a ValidatingAdmissionPolicy (CEL, GA in 1.30).

A CRD's CEL sees only the object's own fields; `metadata.namespace` is not among them. An
admission policy sees the whole request, so it can refuse a Dataset or Topic shared with the
very project that owns it (the namespace). Generated beside the CRDs into `crds/admission/`.
"""

from __future__ import annotations

from typing import Any

from lulea.core.crds.meta import GROUP, VERSION

SHARES_POLICY = f"lulea-shares.{GROUP}"


def _shares_policy() -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": SHARES_POLICY, "labels": {"app.kubernetes.io/part-of": "lulea"}},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["datasets", "topics"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "!has(object.spec) || !has(object.spec.shares)"
                    " || object.spec.shares.all(s, s.project != object.metadata.namespace)",
                    "messageExpression": "'a ' + object.kind + ' cannot be shared with its own"
                    " project ' + object.metadata.namespace + ': its members have access already;"
                    " remove that entry from spec.shares'",
                    "reason": "Invalid",
                }
            ],
        },
    }


def _shares_binding() -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": SHARES_POLICY, "labels": {"app.kubernetes.io/part-of": "lulea"}},
        "spec": {"policyName": SHARES_POLICY, "validationActions": ["Deny"]},
    }


#: file name (under crds/admission/) -> the documents it holds
POLICIES: dict[str, list[dict[str, Any]]] = {
    f"{SHARES_POLICY}.yaml": [_shares_policy(), _shares_binding()],
}
