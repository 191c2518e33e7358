"""Signing CSRs for platform services, brokers and members, and certificate status."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel, Field

from lulea.ca.api.deps import Caller, State, member_caller
from lulea.ca.api.deps import caller as deps_caller  # the route picks by profile
from lulea.ca.domain import csr as csr_policy
from lulea.ca.domain.errors import CaError, ErrorCode, SubjectNotAllowed
from lulea.ca.domain.issuance import sign
from lulea.ca.domain.profiles import Profile
from lulea.ca.metrics import ISSUED
from lulea.ca.store.base import CertificateRecord, Status
from lulea.core.auth import KubernetesPrincipal, MemberPrincipal, Principal

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])
# A member certificate signed from the member's own CSR: recorded (and revoked with the
# membership) but not the one the CA keeps in the member's Secret.
CSR_MEMBER_PROFILE = "member-csr"


class SignRequest(BaseModel):
    csr: str = Field(
        ..., min_length=1, max_length=csr_policy.MAX_CSR_BYTES, description="PEM PKCS#10 request"
    )
    profile: Profile = Profile.SERVER
    project: str | None = Field(
        None,
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        description="member profile only: the project the caller is a member of",
    )


class SignedResponse(BaseModel):
    serial: str
    certificate: str
    chain: str
    notAfter: dt.datetime


class CertificateStatus(BaseModel):
    serial: str
    commonName: str
    profile: str
    notAfter: dt.datetime
    status: Status


class ErrorBody(BaseModel):
    error_code: int
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in (400, 401, 403, 404, 422)}


async def _principal(
    state: State, caller: KubernetesPrincipal, body: SignRequest
) -> tuple[Principal, str | None]:
    if body.profile is not Profile.MEMBER:
        return caller, None
    if body.project is None:
        raise CaError("member certificates need 'project'", ErrorCode.BAD_SUBJECT)
    member = csr_policy.member_from_username(caller, body.project)
    if member is None:
        raise SubjectNotAllowed("only a project's members may ask for its member certificate")
    role = state.role_of(member.project, member.user)  # the Project object, not the CA's records
    if role is None:
        raise SubjectNotAllowed(f"{caller.username!r} is not a member of {body.project!r}")
    return MemberPrincipal(member.project, member.user), role


@router.post("/sign", status_code=201, response_model=SignedResponse, responses=ERRORS)
async def sign_csr(body: SignRequest, state: State,
                   authorization: Annotated[str | None, Header()] = None) -> SignedResponse:
    """Sign a CSR; the subject is computed from who is asking, never copied from the CSR.
    A member certificate may also be asked with the person's own API-server token (`lulea
    login`); it lives `member_csr_lifetime` and is revoked with the membership."""
    if body.profile is Profile.MEMBER:
        caller = await member_caller(state, authorization)
    else:
        caller = await deps_caller(state, authorization)
    request = csr_policy.parse_csr(body.csr)
    principal, role = await _principal(state, caller, body)
    subject = csr_policy.authorize(
        request,
        principal,
        body.profile,
        platform_namespaces=state.platform_namespaces,
        member_role=role,
    )
    members = state.members
    member = principal if isinstance(principal, MemberPrincipal) else None
    lifetime = members.lifetime
    if member is not None and state.member_csr_lifetime is not None:
        lifetime = min(lifetime, state.member_csr_lifetime)
    signed = sign(state.hierarchy, subject, request.csr.public_key(), lifetime=lifetime,
                  crl_url=members.crl_url)
    await state.records.insert(
        CertificateRecord(
            serial=signed.serial_hex,
            common_name=subject.common_name,
            profile=CSR_MEMBER_PROFILE if member else str(subject.profile),
            not_before=signed.not_before,
            not_after=signed.not_after,
            project=member.project if member else None,
            user=member.user if member else None,
            role=role,
        )
    )
    ISSUED.labels(str(subject.profile)).inc()
    return SignedResponse(
        serial=signed.serial_hex,
        certificate=signed.cert_pem().decode(),
        chain=signed.chain_pem.decode(),
        notAfter=signed.not_after,
    )


@router.get("/{serial}/status", response_model=CertificateStatus, responses=ERRORS)
async def status(
    serial: Annotated[str, Path(pattern=r"^[0-9a-f]{1,40}$")], state: State, caller: Caller
) -> CertificateStatus:
    """A certificate's status (platform service accounts only)."""
    account = caller.service_account
    if account is None or account[0] not in state.platform_namespaces:
        raise CaError("certificate not found", ErrorCode.CERTIFICATE_NOT_FOUND)
    record = await state.records.get(serial)
    if record is None:
        raise CaError("certificate not found", ErrorCode.CERTIFICATE_NOT_FOUND)
    return CertificateStatus(
        serial=record.serial,
        commonName=record.common_name,
        profile=record.profile,
        notAfter=record.not_after,
        status=record.status,
    )
