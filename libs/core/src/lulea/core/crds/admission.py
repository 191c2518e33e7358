"""Admission rules a CRD cannot express, as CEL admission policies run by the API server itself
(no webhook server to deploy). Generated beside the CRDs into `crds/admission/`.

- Shares (ValidatingAdmissionPolicy, GA in 1.30): a CRD's CEL sees only the object's own
  fields, and `metadata.namespace` is not among them. An admission policy sees the whole
  request, so it can refuse a Dataset or Topic shared with the very project that owns it.
- The submitter of a GpuJob (MutatingAdmissionPolicy, GA in 1.36): the API server stamps the
  authenticated user who created the job into `lulea.io/submitted-by`, whatever the request
  said, and refuses any later change to it. The GpuJob operator mounts that member's
  certificate into the job's pods, so nobody can run a job as another member.
- The tenant boundary on a Project: RBAC lets a DataOwner patch their own Project, and this
  policy says what the patch may change: members and description, nothing else. Quotas,
  finalizers, and the platform's labels and annotations (`lulea.io` in the key) stay what the
  platform's admins and components set; they are exempt (group `system:masters`, group
  `lulea:platform-admins`, and the platform namespace's service accounts).
"""

from __future__ import annotations

from typing import Any

from lulea.core.crds.meta import GROUP, VERSION

SHARES_POLICY = f"lulea-shares.{GROUP}"
SUBMITTER_POLICY = f"lulea-gpujob-submitter.{GROUP}"
SUBMITTED_BY = "lulea.io/submitted-by"
LABELS = {"app.kubernetes.io/part-of": "lulea"}


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": LABELS},
        "spec": spec,
    }


def _shares_policy() -> dict[str, Any]:
    return _doc(
        "ValidatingAdmissionPolicy",
        SHARES_POLICY,
        {
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
    )


def _deny_binding(policy: str) -> dict[str, Any]:
    return _doc(
        "ValidatingAdmissionPolicyBinding", policy, {"policyName": policy, "validationActions": ["Deny"]}
    )


def _gpujob_rule(operations: list[str]) -> dict[str, Any]:
    rule = {"apiGroups": [GROUP], "apiVersions": [VERSION], "operations": operations}
    return {"resourceRules": [{**rule, "resources": ["gpujobs"]}]}


def _submitted_by(var: str) -> str:
    """CEL: the object's submitted-by annotation, or '' when it has none."""
    return (
        f"(has({var}.metadata.annotations) && '{SUBMITTED_BY}' in {var}.metadata.annotations"
        f" ? {var}.metadata.annotations['{SUBMITTED_BY}'] : '')"
    )


def _submitter_stamp() -> dict[str, Any]:
    return _doc(
        "MutatingAdmissionPolicy",
        SUBMITTER_POLICY,
        {
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "matchConstraints": _gpujob_rule(["CREATE"]),
            # JSONPatch, not ApplyConfiguration: an apply needs the object typed against the
            # schema, so a malformed spec would fail here with a 403 naming the policy, before
            # the CRD's validation could answer with its own 422 and message.
            "mutations": [
                {
                    "patchType": "JSONPatch",
                    "jsonPatch": {
                        "expression": "(has(object.metadata.annotations) ? []"
                        " : [JSONPatch{op: 'add', path: '/metadata/annotations', value: {}}])"
                        " + [JSONPatch{op: 'add', path: '/metadata/annotations/'"
                        f" + jsonpatch.escapeKey('{SUBMITTED_BY}'), value: request.userInfo.username}}]"
                    },
                }
            ],
        },
    )


def _submitter_stamp_binding() -> dict[str, Any]:
    return _doc("MutatingAdmissionPolicyBinding", SUBMITTER_POLICY, {"policyName": SUBMITTER_POLICY})


def _submitter_kept() -> dict[str, Any]:
    return _doc(
        "ValidatingAdmissionPolicy",
        SUBMITTER_POLICY,
        {
            "failurePolicy": "Fail",
            "matchConstraints": _gpujob_rule(["UPDATE"]),
            "validations": [
                {
                    "expression": f"{_submitted_by('object')} == {_submitted_by('oldObject')}",
                    "messageExpression": f"'metadata.annotations[{SUBMITTED_BY}] is set by the platform"
                    " to the user who created the GpuJob (' + "
                    f"{_submitted_by('oldObject')} + ') and cannot be changed; submit a new job instead'",
                    "reason": "Forbidden",
                }
            ],
        },
    )


PROJECT_POLICY = f"lulea-project-owners.{GROUP}"
PROJECT_CLEANUP_POLICY = f"lulea-project-cleanup.{GROUP}"
#: The Project operator's finalizer (kopf's `settings.persistence.finalizer`).
PROJECT_FINALIZER = f"{GROUP}/project-cleanup"


def _project_finalizer() -> dict[str, Any]:
    """The operator's finalizer, put on a Project as the API server creates it. kopf adds it
    itself when it is missing, with a patch of its own and a wait for that patch's watch event
    before any handler runs; found already there, the first event goes straight to the
    handlers: one write of the Project fewer, and one round trip. Without this policy
    (a cluster that refuses it) the operator still adds the finalizer."""
    f = PROJECT_FINALIZER
    return _doc(
        "MutatingAdmissionPolicy",
        PROJECT_CLEANUP_POLICY,
        {
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [GROUP], "apiVersions": [VERSION], "operations": ["CREATE"],
                "resources": ["projects"]}]},
            "mutations": [{
                "patchType": "JSONPatch",
                "jsonPatch": {
                    "expression": "!has(object.metadata.finalizers)"
                    f" ? [JSONPatch{{op: 'add', path: '/metadata/finalizers', value: ['{f}']}}]"
                    f" : ('{f}' in object.metadata.finalizers ? []"
                    f" : [JSONPatch{{op: 'add', path: '/metadata/finalizers/-', value: '{f}'}}])"
                },
            }],
        },
    )
PLATFORM_ADMINS = "lulea:platform-admins"
PLATFORM_ACCOUNTS = "system:serviceaccounts:lulea-system"


def _platform_keys_kept(field: str) -> str:
    """CEL: no key containing `lulea.io` of metadata.<field> is added, removed or changed."""
    new, old = f"variables.new_{field}", f"variables.old_{field}"
    return (f"{old}.all(k, !k.contains('lulea.io') || (k in {new} && {new}[k] == {old}[k]))"
            f" && {new}.all(k, !k.contains('lulea.io') || k in {old})")


def _project_owners() -> dict[str, Any]:
    def meta(var: str, field: str) -> str:
        return f"has({var}.metadata.{field}) ? {var}.metadata.{field} : {{}}"

    return _doc(
        "ValidatingAdmissionPolicy",
        PROJECT_POLICY,
        {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [GROUP], "apiVersions": [VERSION], "operations": ["UPDATE"],
                "resources": ["projects"]}]},
            "matchConditions": [{
                "name": "not-the-platform",
                "expression": f"!request.userInfo.groups.exists(g, g in ['system:masters',"
                f" '{PLATFORM_ADMINS}', '{PLATFORM_ACCOUNTS}'])",
            }],
            "variables": [
                {"name": "new_annotations", "expression": meta("object", "annotations")},
                {"name": "old_annotations", "expression": meta("oldObject", "annotations")},
                {"name": "new_labels", "expression": meta("object", "labels")},
                {"name": "old_labels", "expression": meta("oldObject", "labels")},
            ],
            "validations": [
                {
                    # RBAC grants every member `patch` on their Project (one ClusterRole per
                    # project, docs/projects.md): who among them may change it is said here.
                    # oldObject: a DataScientist cannot make themselves an owner in the same patch.
                    "expression": "oldObject.spec.members.exists(m,"
                    " m.user == request.userInfo.username && m.role == 'DataOwner')",
                    "messageExpression": "'only the DataOwners of project ' + object.metadata.name"
                    " + ' may change it (members, description, accepted shares); '"
                    " + request.userInfo.username + ' is not one of them'",
                    "reason": "Forbidden",
                },
                {
                    "expression": "has(object.spec.quotas) == has(oldObject.spec.quotas)"
                    " && (!has(object.spec.quotas) || object.spec.quotas == oldObject.spec.quotas)",
                    "messageExpression": "'spec.quotas of project ' + object.metadata.name + ' are set"
                    " by the platform admins; a DataOwner may change members and description only:"
                    " ask a platform admin to change the quotas'",
                    "reason": "Forbidden",
                },
                {
                    "expression": "(has(object.metadata.finalizers) ? object.metadata.finalizers : [])"
                    " == (has(oldObject.metadata.finalizers) ? oldObject.metadata.finalizers : [])",
                    "messageExpression": "'metadata.finalizers of project ' + object.metadata.name"
                    " + ' belong to the platform (they make sure its namespace, certificates and"
                    " data are cleaned up); they cannot be added or removed by a DataOwner'",
                    "reason": "Forbidden",
                },
                {
                    "expression": _platform_keys_kept("annotations") + " && "
                    + _platform_keys_kept("labels"),
                    "messageExpression": "'labels and annotations with lulea.io in their key belong to"
                    " the platform on project ' + object.metadata.name + ': remove those changes"
                    " (other labels and annotations are yours)'",
                    "reason": "Forbidden",
                },
                {
                    "expression": "(has(object.metadata.ownerReferences) ? object.metadata.ownerReferences"
                    " : []) == (has(oldObject.metadata.ownerReferences) ?"
                    " oldObject.metadata.ownerReferences : [])",
                    "message": "metadata.ownerReferences of a Project cannot be changed by a DataOwner",
                    "reason": "Forbidden",
                },
            ],
        },
    )


#: file name (under crds/admission/) -> the documents it holds
POLICIES: dict[str, list[dict[str, Any]]] = {
    f"{SUBMITTER_POLICY}.yaml": [
        _submitter_stamp(),
        _submitter_stamp_binding(),
        _submitter_kept(),
        _deny_binding(SUBMITTER_POLICY),
    ],
    f"{SHARES_POLICY}.yaml": [_shares_policy(), _deny_binding(SHARES_POLICY)],
    f"{PROJECT_POLICY}.yaml": [_project_owners(), _deny_binding(PROJECT_POLICY)],
    f"{PROJECT_CLEANUP_POLICY}.yaml": [
        _project_finalizer(),
        _doc("MutatingAdmissionPolicyBinding", PROJECT_CLEANUP_POLICY,
             {"policyName": PROJECT_CLEANUP_POLICY}),
    ],
}
