"""Content-addressed artifact store (local directory). Every blob is named by its sha256."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path


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
