"""lulea.sdk: what a job imports (HopsUtil for Lulea).

    import lulea.sdk
    project = lulea.sdk.login()            # inside a job: no arguments; on a laptop after `lulea login`
    with project.kafka.producer("clicks") as producer:
        producer.send({"user": "u1", "page": "/"})
    for record in project.kafka.consumer("clicks", group="analytics").records(max_records=10):
        ...
    df = pandas.read_parquet(project.datasets.open("ds/part-0.parquet"))
    for line in project.logs.search("error", job="train"):
        ...
"""

from __future__ import annotations

from lulea.sdk.config import Config, Endpoints, config_dir, resolve
from lulea.sdk.errors import LuleaError, NotAMember, NotConfigured, NotFound, NotLoggedIn
from lulea.sdk.project import Identity, Project, login, whoami

__all__ = ["Config", "Endpoints", "Identity", "LuleaError", "NotAMember", "NotConfigured", "NotFound",
           "NotLoggedIn", "Project", "config_dir", "login", "resolve", "whoami"]
