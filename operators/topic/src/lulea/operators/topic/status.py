"""What a Topic's status says, as pure functions: Ready with a reason a machine can switch on
and a message that says what to do, for every way a reconcile ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    message: str


class NotReady(Exception):
    """A reconcile that cannot finish now: why, what to do, and when to look again (seconds;
    None: a person must change something first, the periodic resync still looks)."""

    def __init__(self, reason: str, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.reason, self.message, self.retry_after = reason, message, retry_after

    @property
    def verdict(self) -> Verdict:
        return Verdict(False, self.reason, self.message)


# Kafka's error names, in words a project member can act on.
PLAIN = {
    "INVALID_REPLICATION_FACTOR": "the replication factor is larger than the number of brokers",
    "INVALID_PARTITIONS": "the partition count is not valid",
    "INVALID_CONFIG": "a topic config value is not valid",
    "POLICY_VIOLATION": "the cluster's topic policy refused it",
    "TOPIC_AUTHORIZATION_FAILED": "the Topic operator is not allowed to manage this topic",
    "CLUSTER_AUTHORIZATION_FAILED": "the Topic operator is not allowed to administer the cluster",
    "INVALID_TOPIC_EXCEPTION": "the topic name is not valid for Kafka",
}


def kafka_refused(topic: str, action: str, code: str, message: str) -> NotReady:
    plain = PLAIN.get(code, "Kafka refused the request")
    return NotReady("KafkaRefused", f"Kafka refused to {action} topic {topic}: {plain} "
                    f"({code}: {message}); fix the Topic's spec", None)


def kafka_unavailable(err: BaseException) -> NotReady:
    return NotReady("KafkaUnavailable", f"Kafka did not answer ({err}); the operator retries", 10)


def conflict(topic: str, topic_id: str) -> NotReady:
    return NotReady("ResourceConflict",
                    f"Kafka topic {topic} already exists (topic id {topic_id}) and was not created by "
                    "this Topic; nothing was changed: delete that Kafka topic, or give this Topic "
                    "another name", None)


def schema_incompatible(subject: str, why: str) -> NotReady:
    return NotReady("SchemaIncompatible",
                    f"the schema registry refused the new avroSchema for {subject} as incompatible: "
                    f"{why}; the version in force stays in force", None)


def schema_invalid(subject: str, why: str) -> NotReady:
    return NotReady("SchemaInvalid", f"the schema registry refused avroSchema for {subject}: {why}", None)


def registry_unavailable(err: BaseException) -> NotReady:
    return NotReady("RegistryUnavailable", f"the schema registry did not answer ({err}); "
                    "the operator retries", 10)


def acls_unavailable(err: BaseException) -> NotReady:
    return NotReady("AclsNotApplied", f"the topic's ACLs could not be applied yet ({err}); "
                    "the operator retries", 10)


GONE = "Gone"


def gone() -> NotReady:
    """The Topic was deleted while it was being reconciled: nothing left to do or report
    (its deletion is kopf's finalizer's); a 404 here is not an error."""
    return NotReady(GONE, "the Topic was deleted meanwhile", None)


def invalid(details: str) -> NotReady:
    return NotReady("InvalidSpec", f"the Topic does not match its schema: {details}; fix its spec", None)


def ready(topic: str, partitions: int, wanted: int, schema: tuple[int, int] | None) -> Verdict:
    message = f"Kafka topic {topic} has {partitions} partitions"
    if partitions > wanted:
        message += f" (more than the {wanted} asked: Kafka cannot take partitions away)"
    if schema is not None:
        message += f"; value schema id {schema[0]}, version {schema[1]}"
    return Verdict(True, "Reconciled", message)
