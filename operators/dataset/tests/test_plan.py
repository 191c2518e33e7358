"""The operator's pure decisions: quota parameters, share states, Events for changes."""

from __future__ import annotations

from lulea.operators.dataset import plan


def test_quota_parameters_clear_with_minus_one() -> None:
    assert plan.quota_params({}) == {"namespacequota": "-1", "storagespacequota": "-1"}
    assert plan.quota_params({"quota": {"bytes": 10, "files": 2}}) == {
        "namespacequota": "2", "storagespacequota": "10"}


def test_share_states_follow_the_target_projects_acceptance() -> None:
    spec = {"shares": [{"project": "p2", "access": "ReadWrite"}, {"project": "p3"}, {"project": "gone"}]}
    targets = {"p2": {"spec": {"acceptedShares": ["p1/raw"]}},
               "p3": {"spec": {"acceptedShares": ["p1/*"]}}, "gone": None}
    assert plan.share_states("p1", "raw", spec, targets) == [
        {"project": "p2", "access": "ReadWrite", "state": "Accepted"},
        {"project": "p3", "access": "ReadOnly", "state": "Accepted"},
        {"project": "gone", "access": "ReadOnly", "state": "Pending"}]
    assert plan.share_states("p1", "other", spec, targets)[0]["state"] == "Pending"


def test_events_for_offered_accepted_and_withdrawn_shares() -> None:
    before = [{"project": "p2", "access": "ReadOnly", "state": "Pending"},
              {"project": "p4", "access": "ReadOnly", "state": "Accepted"}]
    after = [{"project": "p2", "access": "ReadOnly", "state": "Accepted"},
             {"project": "p3", "access": "ReadOnly", "state": "Pending"}]
    assert sorted(plan.share_events(before, after)) == [
        ("DatasetShareAccepted", "project p2 accepted the share"),
        ("DatasetShared", "offered to project p3 (ReadOnly)"),
        ("DatasetUnshared", "no longer shared with project p4")]
    assert plan.share_events(after, after) == []


def test_retain_and_abandon_annotations() -> None:
    assert plan.retained({plan.RETAIN: "true"}) and not plan.retained({})
    assert plan.abandoned({plan.ABANDON: "True"}) and not plan.abandoned({plan.RETAIN: "true"})
