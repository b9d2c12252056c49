"""Offline verification of a witness bundle: the manifest's DSSE signature, then every file's digest."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro.supply.evidence import MANIFEST, MANIFEST_SIG, MANIFEST_TYPE, PUBLIC_KEY
from maestro.supply.keys import SigningKeyError, keyid_of, load_public
from maestro.supply.signing import verify_envelope, verify_payload


@dataclass
class Report:
    ok: bool = True
    files_checked: int = 0
    keyid: str = ""
    key_source: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what is wrong)
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def fail(self, name: str, why: str) -> None:
        self.ok = False
        self.problems.append((name, why))

    @property
    def first(self) -> str | None:
        return self.problems[0][0] if self.problems else None


def _read(z: zipfile.ZipFile, name: str, report: Report) -> bytes | None:
    try:
        return z.read(name)
    except KeyError:
        report.fail(name, "missing from the bundle")
    except (zipfile.BadZipFile, OSError) as exc:  # e.g. a CRC mismatch: the bytes changed inside the zip
        report.fail(name, f"unreadable: {exc}")
    return None


def verify_bundle(bundle: Path, key_pem: bytes | None = None) -> Report:
    report = Report()
    try:
        z = zipfile.ZipFile(bundle)
    except (zipfile.BadZipFile, OSError) as exc:
        report.fail(bundle.name, f"not a zip archive: {exc}")
        return report
    with z:
        sig_raw = _read(z, MANIFEST_SIG, report)
        manifest_raw = _read(z, MANIFEST, report)
        bundled_pem = _read(z, PUBLIC_KEY, report)
        if sig_raw is None or manifest_raw is None:
            return report
        try:
            envelope = json.loads(sig_raw)
            claimed = str(envelope["signatures"][0].get("keyid", ""))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            report.fail(MANIFEST_SIG, f"not a DSSE envelope: {exc}")
            return report
        # the key: pinned with --key, or the one in the bundle (integrity only, not identity)
        try:
            if key_pem is not None:
                pub, report.key_source = load_public(key_pem), "--key"
                if bundled_pem is not None and bundled_pem.strip() != key_pem.strip():
                    report.fail(PUBLIC_KEY, "differs from the key given with --key")
            else:
                if bundled_pem is None:
                    return report
                report.key_source = f"{PUBLIC_KEY} (bundled: proves integrity, not who signed; pin it with --key)"
                try:
                    pub = load_public(bundled_pem)
                except (ValueError, SigningKeyError) as exc:
                    report.fail(PUBLIC_KEY, f"not a P-256 public key: {exc}")
                    return report
                if keyid_of(pub) != claimed:
                    report.fail(PUBLIC_KEY, f"key id {keyid_of(pub)[:16]}… is not the signer's {claimed[:16]}…")
                    return report
        except (ValueError, SigningKeyError) as exc:
            report.fail("--key", f"not a P-256 public key: {exc}")
            return report
        report.keyid = keyid_of(pub)
        try:
            payload = verify_payload(envelope, pub, MANIFEST_TYPE)
        except ValueError as exc:
            report.fail(MANIFEST_SIG, f"the manifest signature does not verify with key {report.keyid[:16]}…: {exc}")
            return report
        if payload != manifest_raw:
            report.fail(MANIFEST, "does not match the signed manifest (it was changed after signing)")
            return report
        manifest = json.loads(manifest_raw)
        report.manifest = manifest
        listed: dict[str, dict[str, Any]] = manifest.get("files", {})
        for name in sorted(listed):
            data = _read(z, name, report)
            if data is None:
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != listed[name]["sha256"]:
                report.fail(name, f"sha256 {digest[:16]}… is not the manifest's {listed[name]['sha256'][:16]}…")
            elif len(data) != listed[name]["size"]:
                report.fail(name, f"size {len(data)} is not the manifest's {listed[name]['size']}")
            report.files_checked += 1
        for extra in sorted(set(z.namelist()) - set(listed) - {MANIFEST, MANIFEST_SIG}):
            report.fail(extra, "not listed in the manifest")
        # inside the bundle: the provenance must verify with the same key
        prov = "attestations/provenance.dsse.json"
        if prov in listed and (data := z.read(prov)):
            try:
                verify_envelope(json.loads(data), [pub])
            except ValueError as exc:
                report.fail(prov, f"provenance signature: {exc}")
        else:
            report.notes.append("no provenance in this bundle (the run did not succeed)")
        deny = "policies/deny-test.json"
        if deny in listed and not json.loads(z.read(deny)).get("denied"):
            report.fail(deny, "the deny test was not denied: the bundle's policies let a known-bad promotion through")
    return report


__all__ = ["Report", "verify_bundle"]
