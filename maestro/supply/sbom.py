"""CycloneDX SBOMs from requirement and lock files (and Python environments), and their diff.

The `uses: sbom` step runs this module on the runner, in the step's workspace:

    python -m maestro.supply.sbom --out sbom.cdx.json [--python PATH] [FILE|DIR ...]

A directory (the default is the workspace) is searched for requirements*.txt, uv.lock,
poetry.lock and package-lock.json. Components carry purls and, where the lock file records them,
hashes and licenses.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCK_NAMES = ("uv.lock", "poetry.lock", "package-lock.json")
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==|===|>=|<=|~=|!=|>|<)?\s*([^\s;#\\]+)?")
_HASH = re.compile(r"--hash[= ]sha256:([0-9a-f]{64})")


@dataclass
class Comp:
    ecosystem: str  # pypi | npm
    name: str
    version: str
    hashes: dict[str, str] = field(default_factory=dict)  # CycloneDX alg → hex
    license: str = ""
    source: str = ""

    @property
    def purl(self) -> str:
        from packageurl import PackageURL

        name = self.name.lower().replace("_", "-") if self.ecosystem == "pypi" else self.name
        namespace = None
        if self.ecosystem == "npm" and name.startswith("@") and "/" in name:
            namespace, name = name.split("/", 1)
        return str(PackageURL(self.ecosystem, namespace, name, self.version or None))


def from_requirements(path: Path) -> tuple[list[Comp], list[str]]:
    comps, notes = [], []
    text = path.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-r", "-c", "--", "-e", "git+", "http")):
            continue
        m = _REQ.match(line)
        if not m:
            continue
        name, op, version = m.group(1), m.group(2), m.group(3) or ""
        pinned = op in {"==", "==="}
        if not pinned:
            notes.append(f"{path.name}: {name} is not pinned ({line!r}); recorded without a version")
        hashes = _HASH.findall(line)
        comps.append(Comp("pypi", name, version if pinned else "", {"SHA-256": hashes[0]} if hashes else {}, source=path.name))
    return comps, notes


def _sha256_of(entry: dict[str, Any]) -> str:
    h = str(entry.get("hash", ""))
    return h.removeprefix("sha256:") if h.startswith("sha256:") else ""


def from_uv_lock(path: Path) -> list[Comp]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for p in data.get("package", []):
        src = p.get("source", {})
        if "editable" in src or "virtual" in src:  # the project itself
            continue
        files = [p.get("sdist", {}), *p.get("wheels", [])]
        digest = next((d for d in (_sha256_of(f) for f in files if f) if d), "")
        out.append(Comp("pypi", p["name"], str(p.get("version", "")), {"SHA-256": digest} if digest else {}, source=path.name))
    return out


def from_poetry_lock(path: Path) -> list[Comp]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for p in data.get("package", []):
        digest = next((d for d in (_sha256_of(f) for f in p.get("files", [])) if d), "")
        out.append(Comp("pypi", p["name"], str(p.get("version", "")), {"SHA-256": digest} if digest else {}, source=path.name))
    return out


def from_package_lock(path: Path) -> list[Comp]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for where, p in (data.get("packages") or {}).items():
        if not where:  # "" is the root project
            continue
        name = p.get("name") or where.rsplit("node_modules/", 1)[-1]
        hashes = {}
        integrity = str(p.get("integrity", ""))
        if integrity.startswith("sha512-"):
            hashes["SHA-512"] = base64.b64decode(integrity[7:]).hex()
        lic = p.get("license", "")
        out.append(Comp("npm", name, str(p.get("version", "")), hashes, lic if isinstance(lic, str) else "", source=path.name))
    return out


_ENV_SCRIPT = """
import importlib.metadata as m, json
out = []
for d in m.distributions():
    md = d.metadata
    lic = md.get("License-Expression") or ""
    if not lic:
        lic = next((c.split("::")[-1].strip() for c in (md.get_all("Classifier") or []) if c.startswith("License ::")), "")
    out.append({"name": md["Name"], "version": d.version, "license": lic})
print(json.dumps(out))
"""


def from_python(python: str) -> list[Comp]:
    res = subprocess.run([python, "-I", "-c", _ENV_SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    rows = json.loads(res.stdout)
    return [Comp("pypi", d["name"], d["version"], license=d["license"] or "", source=f"python:{python}") for d in rows]


def collect(targets: list[Path], python: str | None = None) -> tuple[list[Comp], list[str]]:
    comps: list[Comp] = []
    notes: list[str] = []
    files: list[Path] = []
    for t in targets:
        if t.is_dir():
            found = sorted([*t.glob("requirements*.txt"), *(t / n for n in LOCK_NAMES if (t / n).is_file())])
            files += found
        elif t.is_file():
            files.append(t)
        else:
            notes.append(f"{t} does not exist")
    for f in files:
        notes.append(f"reading {f.name}")
        if f.name == "uv.lock":
            comps += from_uv_lock(f)
        elif f.name == "poetry.lock":
            comps += from_poetry_lock(f)
        elif f.name == "package-lock.json":
            comps += from_package_lock(f)
        else:
            c, n = from_requirements(f)
            comps += c
            notes += n
    if python:
        notes.append(f"reading the Python environment of {python}")
        comps += from_python(python)
    unique: dict[str, Comp] = {}
    for comp in comps:
        unique.setdefault(comp.purl, comp)
    return sorted(unique.values(), key=lambda c: c.purl), notes


def to_cyclonedx(comps: list[Comp], *, name: str) -> str:
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    lf = LicenseFactory()
    bom = Bom()
    bom.metadata.component = Component(name=name, type=ComponentType.APPLICATION, bom_ref=f"maestro:{name}")
    for c in comps:
        bom.components.add(
            Component(
                name=c.name,
                version=c.version or None,
                type=ComponentType.LIBRARY,
                purl=PackageURL.from_string(c.purl),
                bom_ref=c.purl,
                hashes=[HashType(alg=HashAlgorithm(alg), content=v) for alg, v in sorted(c.hashes.items())],
                licenses=[lf.make_from_string(c.license)] if c.license else [],
            )
        )
    with warnings.catch_warnings():
        # the components come from requirement and lock files, which do not say who depends on whom: the BOM
        # lists them without a dependency graph, and says so in no warning on the step's log
        warnings.filterwarnings("ignore", message=".*has no defined dependencies.*", category=UserWarning)
        return JsonV1Dot6(bom).output_as_string(indent=2)


# -- diff -----------------------------------------------------------------------------------------
def _components(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Components keyed by purl without version (the package's identity)."""
    out = {}
    for c in doc.get("components", []):
        purl = str(c.get("purl") or f"pkg:generic/{c.get('name')}")
        ident = purl.split("@", 1)[0].split("?", 1)[0]
        licenses = sorted(_license_text(entry) for entry in c.get("licenses", []))
        out[ident] = {
            "name": c.get("name", ""),
            "purl": purl,
            "version": str(c.get("version") or ""),
            "hashes": {h["alg"]: h["content"] for h in c.get("hashes", [])},
            "licenses": [x for x in licenses if x],
        }
    return out


def _license_text(entry: dict[str, Any]) -> str:
    lic = entry.get("license") or {}
    return str(lic.get("id") or lic.get("name") or entry.get("expression") or "")


def _version_key(v: str) -> tuple[Any, ...]:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(v))
    except InvalidVersion:
        return (1, tuple(int(x) if x.isdigit() else x for x in re.split(r"[.\-+]", v)))


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    a, b = _components(old), _components(new)
    out: dict[str, list[dict[str, Any]]] = {
        "added": [],
        "removed": [],
        "upgraded": [],
        "downgraded": [],
        "hashChanged": [],
        "licenseChanged": [],
    }
    for ident in sorted(set(a) | set(b)):
        x, y = a.get(ident), b.get(ident)
        if x is None and y is not None:
            out["added"].append({"name": y["name"], "purl": y["purl"], "version": y["version"]})
        elif y is None and x is not None:
            out["removed"].append({"name": x["name"], "purl": x["purl"], "version": x["version"]})
        elif x is not None and y is not None:
            if x["version"] != y["version"]:
                try:
                    up = _version_key(y["version"]) > _version_key(x["version"])
                except TypeError:
                    up = y["version"] > x["version"]
                out["upgraded" if up else "downgraded"].append(
                    {"name": y["name"], "purl": y["purl"], "from": x["version"], "to": y["version"]}
                )
            elif any(alg in y["hashes"] and y["hashes"][alg] != h for alg, h in x["hashes"].items()):
                out["hashChanged"].append({"name": y["name"], "purl": y["purl"], "version": y["version"]})
            if x["licenses"] != y["licenses"]:
                out["licenseChanged"].append({"name": y["name"], "purl": y["purl"], "from": x["licenses"], "to": y["licenses"]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="maestro-sbom", description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("targets", nargs="*", default=["."])
    ap.add_argument("--out", default="sbom.cdx.json")
    ap.add_argument("--python", default=None)
    ap.add_argument("--name", default=os.environ.get("MAESTRO_STEP", "workspace"))
    args = ap.parse_args(argv)
    try:
        comps, notes = collect([Path(t) for t in args.targets], args.python)
    except (OSError, ValueError, subprocess.SubprocessError, tomllib.TOMLDecodeError) as exc:
        print(f"maestro sbom: {exc}", file=sys.stderr)
        return 2
    for n in notes:
        print(f"maestro sbom: {n}")
    if not comps:
        looked = "requirements*.txt, " + ", ".join(LOCK_NAMES)
        print(f"maestro sbom: no components found (looked for {looked})", file=sys.stderr)
        return 1
    text = to_cyclonedx(comps, name=args.name)
    Path(args.out).write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    print(f"maestro sbom: {len(comps)} components → {args.out} (sha256:{digest})")
    if out := os.environ.get("MAESTRO_OUTPUT"):
        with open(out, "a", encoding="utf-8") as f:
            f.write(f"sbomRef=sha256:{digest}\ncomponents={len(comps)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
