"""What can go wrong for a user of the SDK or the CLI, each saying what to do about it."""

from __future__ import annotations


class LuleaError(Exception):
    """Base of the SDK's errors; the message is written for the person reading it."""


class NotLoggedIn(LuleaError):
    """No job environment and no saved login for the project asked for."""


class NotAMember(LuleaError):
    """The platform says the caller is not a member of the project."""

    def __init__(self, project: str, user: str = "") -> None:
        who = f"{user} is" if user else "you are"
        super().__init__(f"{who} not a member of {project}; ask a DataOwner of {project} to add you "
                         f"(spec.members of Project {project})")
        self.project, self.user = project, user


class NotConfigured(LuleaError):
    """An endpoint or the certificate this part needs is not known."""


class NotFound(LuleaError):
    """The thing (topic, schema, job, file) does not exist, or is not the caller's to see."""


class ServiceError(LuleaError):
    """A platform service answered with an error the user cannot fix by themselves."""
