"""Artifacts in S3-compatible storage (a real S3-protocol server: moto's), digests verified on download."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from maestro.config import Settings
from tests.factories import login
from tests.services import free_port
from tests.test_runs import register, start, wait_run


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str) -> Settings:  # overrides conftest's, building on it
    bucket = f"artifacts-{settings.control_task_queue}"
    boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    ).create_bucket(Bucket=bucket)
    return settings.model_copy(
        update={
            "artifact_store": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": bucket,
            "s3_access_key_id": "k",
            "s3_secret_access_key": "s",
        }
    )


def test_artifacts_round_trip_through_s3(client: TestClient, workers, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    register(
        caller,
        "name: s3art\nsteps:\n- {id: a, run: 'mkdir -p o; head -c 300000 /dev/urandom > o/blob.bin', artifacts: ['o/*']}\n",
    )
    done = wait_run(caller, start(caller, "s3art")["id"])
    assert done["status"] == "succeeded"
    [art] = done["artifacts"]
    s3 = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    stored = s3.get_object(Bucket=settings.s3_bucket, Key=f"sha256/{art['sha256']}")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == art["sha256"] and len(stored) == art["size"] == 300000
    assert not settings.effective_artifact_dir.exists()  # nothing went to the local store
    body = caller.get(f"/api/artifacts/{art['id']}")
    assert body.status_code == 200 and body.content == stored
    # bytes changed behind Maestro's back: the download is refused, not served
    s3.put_object(Bucket=settings.s3_bucket, Key=f"sha256/{art['sha256']}", Body=b"tampered")
    bad = caller.get(f"/api/artifacts/{art['id']}")
    assert bad.status_code == 409 and "corrupted" in bad.json()["detail"]
