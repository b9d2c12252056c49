"""Content-addressed artifact store (local directory). Every blob is named by its sha256."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maestro.config import Settings


class DigestMismatch(Exception):
    pass


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / "sha256" / sha256[:2] / sha256

    def uri_of(self, sha256: str) -> str:
        return f"cas://sha256/{sha256}"

    def put_file(self, src: Path) -> tuple[str, int]:
        """Copy ``src`` in (hashing while copying); returns (sha256, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, src.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            dest = self.path_of(digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                os.unlink(tmp)
            else:
                os.replace(tmp, dest)
            return digest, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def verified_path(self, sha256: str) -> Path:
        """The blob's path after re-hashing it; raises DigestMismatch if the bytes changed."""
        p = self.path_of(sha256)
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        if h.hexdigest() != sha256:
            raise DigestMismatch(f"stored blob {sha256} hashes to {h.hexdigest()}")
        return p

    def copy_out(self, sha256: str, dest: Path) -> None:
        shutil.copyfile(self.verified_path(sha256), dest)

    @property
    def temporary_downloads(self) -> bool:
        return False


class S3Store:
    """The same content-addressed layout in an S3-compatible bucket (``sha256/<digest>``)."""

    def __init__(
        self, *, bucket: str, endpoint_url: str | None, region: str, access_key: str | None, secret_key: str | None
    ) -> None:
        import boto3

        self.bucket = bucket
        self.s3 = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=access_key, aws_secret_access_key=secret_key
        )

    @staticmethod
    def key_of(sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return f"sha256/{sha256}"

    def uri_of(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self.key_of(sha256)}"

    def put_file(self, src: Path) -> tuple[str, int]:
        h = hashlib.sha256()
        size = 0
        with src.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
        digest = h.hexdigest()
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.key_of(digest))
        except ClientError:
            self.s3.upload_file(str(src), self.bucket, self.key_of(digest), ExtraArgs={"Metadata": {"sha256": digest}})
        return digest, size

    def verified_path(self, sha256: str) -> Path:
        """Download to a temporary file, hashing as it arrives; the caller deletes it."""
        from botocore.exceptions import ClientError

        fd, tmp = tempfile.mkstemp(prefix="maestro-artifact-")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    body = self.s3.get_object(Bucket=self.bucket, Key=self.key_of(sha256))["Body"]
                except ClientError as exc:
                    raise FileNotFoundError(sha256) from exc
                for chunk in body.iter_chunks(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != sha256:
                raise DigestMismatch(f"stored blob {sha256} hashes to {h.hexdigest()}")
            return Path(tmp)
        except BaseException:
            os.unlink(tmp)
            raise

    @property
    def temporary_downloads(self) -> bool:
        return True


Store = LocalStore | S3Store


def make_store(settings: Settings) -> Store:
    if settings.artifact_store == "s3":
        return S3Store(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key_id,
            secret_key=settings.s3_secret_access_key,
        )
    return LocalStore(settings.effective_artifact_dir)


def read_verified(store: Store, sha256: str) -> bytes:
    """A blob's bytes, re-hashed on the way (DigestMismatch / FileNotFoundError otherwise); no temp file left behind."""
    path = store.verified_path(sha256)
    try:
        return path.read_bytes()
    finally:
        if store.temporary_downloads:
            path.unlink(missing_ok=True)
