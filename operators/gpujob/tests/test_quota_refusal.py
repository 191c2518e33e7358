"""A pod refused by the namespace's ResourceQuota becomes a job status, never an endless error."""

from __future__ import annotations

import pytest

from lulea.operators.gpujob.lifecycle import Action
from lulea.operators.gpujob.reconcile import QuotaRefused

BODY = ('{"kind":"Status","message":"pods \\"train-0\\" is forbidden: exceeded quota: lulea-quota, '
        'requested: requests.nvidia.com/gpu=4, used: requests.nvidia.com/gpu=6, '
        'limited: requests.nvidia.com/gpu=8","reason":"Forbidden","code":403}')


@pytest.mark.parametrize("gpus, phase, action, words", [
    (16, "Failed", Action.STOP, "asks 16 GPUs but project p1's quota is 8"),
    (8, "Queued", Action.NOTHING, "fall under its quota (8)"),
    (4, "Queued", Action.NOTHING, "fall under its quota (8)"),
])
def test_quota_refusals(gpus: int, phase: str, action: Action, words: str) -> None:
    verdict = QuotaRefused(BODY).verdict({"spec": {"gpus": gpus}, "metadata": {"namespace": "p1"}})
    assert (verdict.phase, verdict.reason, verdict.action) == (phase, "QuotaExceeded", action)
    assert words in verdict.message


def test_a_refusal_without_a_gpu_limit_queues() -> None:
    body = '{"message":"exceeded quota: lulea-quota, requested: count/pods=1, limited: count/pods=0"}'
    verdict = QuotaRefused(body).verdict({"spec": {"gpus": 2}, "metadata": {"namespace": "p1"}})
    assert verdict.phase == "Queued" and verdict.message.endswith("quota")
