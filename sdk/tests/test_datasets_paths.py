"""Dataset paths map to the project's directory on the storage service, and never out of it."""

from __future__ import annotations

import pytest

import lulea.sdk
from lulea.sdk.datasets import storage_path
from lulea.sdk.errors import NotConfigured


@pytest.mark.parametrize(("path", "expected"), [
    ("ds/file.parquet", "/Projects/p1/ds/file.parquet"),
    ("/ds/file.parquet", "/Projects/p1/ds/file.parquet"),
    ("./ds//x/", "/Projects/p1/ds/x"),
    ("", "/Projects/p1"),
])
def test_paths_are_inside_the_project(path: str, expected: str) -> None:
    assert storage_path("p1", path) == expected


@pytest.mark.parametrize("path", ["../p2/ds", "ds/../../p2", ".."])
def test_dot_dot_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match=r"'\.\.' is not allowed"):
        storage_path("p1", path)


def test_the_filesystem_is_webhdfs_over_https_with_the_member_certificate(job_env: dict[str, str]) -> None:
    fs = lulea.sdk.login(environ=job_env).datasets
    assert fs.fs.url == "https://127.0.0.1:50470/webhdfs/v1"
    certs = job_env["LULEA_CERT_DIR"]
    assert fs.fs.session.cert == (f"{certs}/tls.crt", f"{certs}/tls.key")
    assert fs.fs.session.verify == f"{job_env['LULEA_CERT_DIR']}/ca.crt"
    assert fs._join("ds/a.parquet") == "/Projects/p1/ds/a.parquet"
    assert fs._join(["a", "b/c"]) == ["/Projects/p1/a", "/Projects/p1/b/c"]
    assert fs.url("ds/a") == "https://127.0.0.1:50470/webhdfs/v1/Projects/p1/ds/a"
    assert fs.of("p2")._join("shared/x") == "/Projects/p2/shared/x"
    assert fs._relpath("/Projects/p1/ds/a.parquet") == "ds/a.parquet"


def test_requests_go_to_the_mapped_path(job_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What fsspec sends for `ls("ds")`: LISTSTATUS on /Projects/p1/ds (a recorded call)."""
    fs = lulea.sdk.login(environ=job_env).datasets
    calls: list[tuple[str, str]] = []

    class Answer:
        status_code = 200

        def json(self) -> dict[str, object]:
            return {"FileStatuses": {"FileStatus": [
                {"pathSuffix": "a.parquet", "type": "FILE", "length": 3}]}}

        def raise_for_status(self) -> None:
            return None

    def request(method: str, url: str, **kwargs: object) -> Answer:
        params = kwargs.get("params") or {}
        calls.append((str(params.get("op")), url))  # type: ignore[union-attr]
        return Answer()

    monkeypatch.setattr(fs.fs.session, "request", request)
    listing = fs.ls("ds", detail=True)
    assert calls == [("LISTSTATUS", "https://127.0.0.1:50470/webhdfs/v1/Projects/p1/ds")]
    assert [e["name"] for e in listing] == ["ds/a.parquet"]


@pytest.mark.parametrize(("url", "message"), [("http://h:1", "https://"), ("", "LULEA_STORAGE_URL")])
def test_a_bad_or_missing_storage_endpoint(job_env: dict[str, str], url: str, message: str) -> None:
    job_env["LULEA_STORAGE_URL"] = url
    with pytest.raises(NotConfigured, match=message):
        _ = lulea.sdk.login(environ=job_env).datasets


def test_the_members_trust_wins_over_requests_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE replace a session's verify (psf/requests#3829): the
    storage service's certificate must be checked against the member's bundle regardless."""
    from lulea.sdk.datasets import PinnedTrustSession

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/somebody-elses.pem")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/somebody-elses.pem")
    session = PinnedTrustSession()
    session.verify = "/member/ca.crt"
    merged = session.merge_environment_settings("https://127.0.0.1:1/", {}, None, None, None)
    assert merged["verify"] == "/member/ca.crt"
    assert session.merge_environment_settings("https://x/", {}, None, False, None)["verify"] is False
