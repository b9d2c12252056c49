"""JSON Schemas of Kubernetes objects that npm packages ship, fetched for the tests (no cluster here).

The Gateway API's HTTPRoute schema is the CRD's own openAPIV3Schema (Gateway API v1.0.0, standard
channel) as `@kubernetes-models/gateway-api@0.5.1` ships it (generated from the release's
standard-install.yaml by @kubernetes-models/crd-generate); the ObjectMeta it refers to comes from
`@kubernetes-models/apimachinery`. Both tarballs are fetched with `npm pack` from the npm registry,
checked against the integrity pinned below, and cached; the schema object literals in their modules
are written out as `<schema id>.json`. Later versions of the package ship compiled validators only.

    python scripts/npm_schemas.py [--cache DIR]   # prints the directory holding the .json files

The cache defaults to $MAESTRO_TEST_CACHE or ~/.cache/maestro; a second run reads it and asks nothing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# package spec → (its dist.integrity as the npm registry lists it, the module paths holding schemas)
PACKAGES: dict[str, tuple[str, str]] = {
    "@kubernetes-models/gateway-api@0.5.1": (
        "sha512-VsB6ipjcLCvOPmAbqxiK9dEEwD/yYGs5lkBTRFG2EcVGFy4o+JMWrTHuAXvaLtycGG67/qWJhHW8MtUhKJLdBg==",
        r"package/gateway\.networking\.k8s\.io/(v1/HTTPRoute|v1beta1/ReferenceGrant)\.js",
    ),
    "@kubernetes-models/apimachinery@1.2.2": (
        "sha512-d7r1sojRKFPJOgR7Oefh7hlzSZzCEi1hno8Rz6vD96gwmsBOi7KijUcOXnFJ7pgaw3jGuAr62idBkrBbqBz4XA==",
        r"package/_schemas/IoK8sApimachineryPkgApisMetaV1\w+\.js",
    ),
}
SCHEMA = re.compile(r"^const schema = (\{.*?^\});$", re.S | re.M)
SCHEMA_ID = re.compile(r'(?:const schemaId = |register\)\()"([\w.-]+)"')


def _fetch(spec: str, integrity: str, cache: Path) -> bytes:
    tgz = cache / "npm" / (re.sub(r"[^\w.@-]", "_", spec) + ".tgz")
    if not tgz.exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is not installed: it fetches the Gateway API schemas the tests validate against (install Node.js)")
        tgz.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [npm, "pack", spec, "--pack-destination", tmp, "--json", "--silent"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if out.returncode != 0:
                sys.exit(f"npm pack {spec} failed: {out.stderr.strip()[:1000]}")
            name = json.loads(out.stdout)[0]["filename"]
            shutil.move(str(Path(tmp) / name.replace("@", "").replace("/", "-")), tgz)
    data = tgz.read_bytes()
    got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if got != integrity:
        tgz.unlink()
        sys.exit(f"{spec}: the tarball's integrity is {got}, expected {integrity}")
    return data


def schemas(cache: Path) -> Path:
    out = cache / "schemas"
    marker = out / ".complete"
    if marker.exists() and marker.read_text() == json.dumps(sorted(PACKAGES)):
        return out
    out.mkdir(parents=True, exist_ok=True)
    for spec, (integrity, members) in PACKAGES.items():
        found = 0
        with tarfile.open(fileobj=io.BytesIO(_fetch(spec, integrity, cache)), mode="r:gz") as tar:
            for m in tar.getmembers():
                if not (m.isfile() and re.fullmatch(members, m.name)):
                    continue
                f = tar.extractfile(m)
                assert f is not None
                text = f.read().decode()
                literal, ident = SCHEMA.search(text), SCHEMA_ID.search(text)
                if literal is None or ident is None:
                    sys.exit(f"{spec}: {m.name} holds no schema literal this script understands")
                (out / f"{ident.group(1)}.json").write_text(json.dumps(json.loads(literal.group(1)), indent=1))
                found += 1
        if not found:
            sys.exit(f"{spec}: no module matched {members}")
    marker.write_text(json.dumps(sorted(PACKAGES)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("MAESTRO_TEST_CACHE") or str(Path.home() / ".cache" / "maestro")
    ap.add_argument("--cache", default=default, help=f"cache directory (default {default})")
    print(schemas(Path(ap.parse_args().cache)))


if __name__ == "__main__":
    main()
