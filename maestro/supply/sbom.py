"""CycloneDX SBOMs from requirement and lock files (and Python environments), and their diff.

The `uses: sbom` step runs this module on the runner, in the step's workspace:

    python -m maestro.supply.sbom --out sbom.cdx.json [--python PATH] [FILE|DIR ...]

A directory (the default is the workspace) is searched for requirements*.txt, uv.lock,
poetry.lock and package-lock.json. Requirement lines are read with `packaging` (extras, markers,
`name @ URL`, hashes, `-r` includes); a line pip would refuse fails the step naming the line.
Components carry purls and, where the inputs record them, hashes and licenses; the BOM's
`dependencies` graph says what the project asks for directly and, where a lock file or a
pip-compile `# via` annotation tells, which package needs which.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

LOCK_NAMES = ("uv.lock", "poetry.lock", "package-lock.json")
_VIA = re.compile(r"^#\s+via(?:\s+(.*))?$")  # pip-compile / uv pip compile: "# via pkg" or "# via" then "#   pkg" lines
_VIA_MORE = re.compile(r"^#\s{2,}(\S.*)$")
_HASH_ALGS = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}  # what pip's --hash accepts
_VCS = ("git+", "hg+", "svn+", "bzr+")
# requirement-file options that change where or how pip installs, not which packages: nothing to record
_GLOBAL_OPTIONS = {
    "-i": True, "--index-url": True, "--extra-index-url": True, "-f": True, "--find-links": True,
    "--trusted-host": True, "--no-binary": True, "--only-binary": True, "--use-feature": True,
    "--pre": False, "--no-index": False, "--prefer-binary": False, "--require-hashes": False,
}  # fmt: skip
_LINE_OPTIONS = {"-r": True, "--requirement": True, "-c": True, "--constraint": True, "-e": True, "--editable": True}
_LINE_OPTIONS |= _GLOBAL_OPTIONS
_PER_REQUIREMENT_OPTIONS = {
    "--hash": True,
    "--config-settings": True,
    "-C": True,
    "--global-option": True,
    "--install-option": True,
}


@dataclass
class Comp:
    ecosystem: str  # pypi | npm
    name: str
    version: str
    hashes: dict[str, str] = field(default_factory=dict)  # CycloneDX alg → hex
    license: str = ""
    source: str = ""
    qualifiers: dict[str, str] = field(default_factory=dict)  # purl qualifiers (download_url, vcs_url)
    requirement: str = ""  # the requirement as written (extras, marker, URL), normalised by `packaging`
    direct: bool = False  # the project asks for it itself (the BOM's root depends on it)
    depends_on: set[str] = field(default_factory=set)  # purls of the components it depends on

    @property
    def purl(self) -> str:
        from packageurl import PackageURL

        name = self.name.lower().replace("_", "-") if self.ecosystem == "pypi" else self.name
        namespace = None
        if self.ecosystem == "npm" and name.startswith("@") and "/" in name:
            namespace, name = name.split("/", 1)
        return str(PackageURL(self.ecosystem, namespace, name, self.version or None, self.qualifiers or None))


class RequirementsError(ValueError):
    """A requirements file line that pip would refuse too: the SBOM would miss what it names."""


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined, as pip reads them."""
    start, parts = 0, list[str]()
    for n, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = n
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def _options(tokens: list[str], where: str, known: dict[str, bool], what: str) -> list[tuple[str, str | None]]:
    """`--opt=value`, `--opt value`, `-xvalue`, `-x value` and flags, as (option, value); `known` maps each option
    this kind of line takes to whether it takes a value."""
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("-"):
            raise RequirementsError(f"{where}: {tok!r} follows the options; one requirement per line")
        opt, eq, value = tok.partition("=") if tok.startswith("--") else (tok[:2], "", tok[2:])
        if opt not in known:
            raise RequirementsError(f"{where}: {opt} is not {what}")
        if not known[opt]:
            out.append((opt, None))
        elif eq or value:
            out.append((opt, value))
        elif i + 1 < len(tokens):
            out.append((opt, tokens[i + 1]))
            i += 1
        else:
            raise RequirementsError(f"{where}: {opt} needs a value")
        i += 1
    return out


_URL_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s]*@")


def without_credentials(text: str) -> str:
    """Every URL in ``text`` without its ``user:password@`` part (as pip prints them): a token in a
    requirement's URL must not reach the SBOM, its signature's readers or the step log."""
    return _URL_USERINFO.sub(r"\1", text)


def _from_filename(location: str) -> tuple[str, str] | None:
    """Name and version of a wheel or sdist named by a URL or path (`.../pkg-1.0-py3-none-any.whl`)."""
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

    filename = urlsplit(location).path.rsplit("/", 1)[-1] if "://" in location else Path(location).name
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return str(name), str(version)
        if filename.endswith((".tar.gz", ".zip")):
            name, sversion = parse_sdist_filename(filename)
            return str(name), str(sversion)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _requirement_comp(
    req_text: str, options: list[tuple[str, str | None]], where: str, path: Path
) -> tuple[Comp | None, list[str]]:
    from packaging.requirements import InvalidRequirement, Requirement

    notes: list[str] = []
    hashes: dict[str, str] = {}
    for opt, value in options:
        if opt == "--hash":
            alg, _, digest = (value or "").partition(":")
            if alg not in _HASH_ALGS or not re.fullmatch(r"[0-9a-fA-F]+", digest):
                raise RequirementsError(f"{where}: --hash={value} is not sha256/sha384/sha512:HEX")
            hashes.setdefault(_HASH_ALGS[alg], digest.lower())  # one hash per algorithm: the first file's
    try:
        req = Requirement(req_text)
    except InvalidRequirement as exc:
        if "/" in req_text or "\\" in req_text or req_text.startswith("."):
            found = _from_filename(req_text.split(";", 1)[0].strip())
            if found is None:
                notes.append(f"{where}: {req_text} names no package; not recorded (write it as `name @ {req_text}`)")
                return None, notes
            name, version = found
            url = req_text if req_text.startswith(("http://", "https://")) else ""
            quals = {"download_url": url} if url else {}
            return Comp(
                "pypi", name, version, hashes, source=path.name, qualifiers=quals, requirement=req_text, direct=True
            ), notes
        raise RequirementsError(f"{where}: not a requirement ({exc})") from None
    version = ""
    qualifiers: dict[str, str] = {}
    if req.url:
        if req.url.startswith(_VCS):
            qualifiers["vcs_url"] = req.url
            notes.append(f"{where}: {req.name} comes from {req.url}; recorded without a version")
        else:
            if not req.url.startswith("file:"):
                qualifiers["download_url"] = req.url
            found = _from_filename(req.url)
            if found is not None and canonicalize_name(found[0]) == canonicalize_name(req.name):
                version = found[1]
            else:
                notes.append(f"{where}: {req.name} comes from {req.url}; recorded without a version")
    else:
        pins = [s for s in req.specifier if s.operator in {"==", "==="} and not s.version.endswith(".*")]
        if len(pins) == 1 and len(req.specifier) == 1:
            version = pins[0].version
        else:
            notes.append(f"{where}: {req.name} is not pinned ({req_text!r}); recorded without a version")
    comp = Comp("pypi", req.name, version, hashes, source=path.name, qualifiers=qualifiers, requirement=str(req), direct=True)
    return comp, notes


def from_requirements(path: Path, *, _reading: tuple[Path, ...] = ()) -> tuple[list[Comp], list[str]]:
    """A pip requirements file, read with `packaging`: names, pins, extras, markers, `name @ URL` and hashes; `-r`
    files included; other pip options skipped. A pip-compile / uv `# via` annotation makes the dependency graph
    (who needs whom); without one, every requirement is a direct dependency of the project.
    Raises RequirementsError for a line pip would refuse (naming the file and line)."""
    comps: list[Comp] = []
    notes: list[str] = []
    via: dict[int, list[str]] = {}  # index in comps → what the annotation says needs it
    last: int | None = None  # the requirement the next `# via` lines annotate
    in_via = False
    reading = (*_reading, path.resolve())
    text = path.read_text(encoding="utf-8", errors="replace")
    for lineno, raw in _logical_lines(text):
        line = without_credentials(raw)  # nothing below (SBOM, notes, errors in the step log) sees a URL's secret
        where = f"{path.name}:{lineno}"
        stripped = line.strip()
        if stripped.startswith("#"):
            if last is not None and (m := _VIA.match(stripped)):
                in_via = True
                via.setdefault(last, []).extend(x for x in [m.group(1)] if x)
            elif last is not None and in_via and (m := _VIA_MORE.match(stripped)):
                via[last].append(m.group(1))
            else:
                in_via = False
            continue
        in_via = False
        body = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not body:
            continue
        tokens = body.split()
        if body.startswith("-"):
            last = None
            for opt, value in _options(tokens, where, _LINE_OPTIONS, "an option pip takes in a requirements file"):
                if opt in {"-r", "--requirement"}:
                    assert value is not None
                    if "://" in value:
                        notes.append(f"{where}: {value} is remote; not followed")
                        continue
                    inc = (path.parent / value).resolve()
                    if inc in reading:
                        notes.append(f"{where}: {value} is already being read (a -r loop); not followed again")
                        continue
                    if not inc.is_file():
                        raise RequirementsError(f"{where}: -r {value}: no such file")
                    notes.append(f"reading {value} (-r in {path.name})")
                    more, more_notes = from_requirements(inc, _reading=reading)
                    comps += more
                    notes += more_notes
                elif opt in {"-c", "--constraint"}:
                    notes.append(f"{where}: constraints file {value} not read (constraints limit versions, add no packages)")
                elif opt in {"-e", "--editable"}:
                    notes.append(f"{where}: editable {value} not recorded (a working copy, not a released package)")
            continue
        n = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
        options = _options(tokens[n:], where, _PER_REQUIREMENT_OPTIONS, "an option of a requirement line")
        comp, more_notes = _requirement_comp(" ".join(tokens[:n]), options, where, path)
        notes += more_notes
        last = None
        if comp is not None:
            last = len(comps)
            comps.append(comp)
    _apply_via(comps, via)
    return comps, notes


def _apply_via(comps: list[Comp], via: dict[int, list[str]]) -> None:
    """`# via requests` under idna: requests depends on idna, and idna is not one of the project's own asks
    (unless another entry is a requirements file `-r x.in` or the project itself `app (pyproject.toml)`)."""
    by_name: dict[str, list[Comp]] = {}
    for c in comps:
        by_name.setdefault(canonicalize_name(c.name), []).append(c)
    for i, entries in via.items():
        comp = comps[i]
        direct = False
        for entry in entries:
            first = entry.split()[0]
            parents = by_name.get(canonicalize_name(first), []) if not entry.startswith("-") and "(" not in entry else []
            if not parents:
                direct = True  # -r/-c a file, the project itself, or a package not in this file
            for p in parents:
                p.depends_on.add(comp.purl)
        comp.direct = direct


def _sha256_of(entry: dict[str, Any]) -> str:
    h = str(entry.get("hash", ""))
    return h.removeprefix("sha256:") if h.startswith("sha256:") else ""


def _by_name(comps: list[Comp]) -> dict[str, list[Comp]]:
    out: dict[str, list[Comp]] = {}
    for c in comps:
        out.setdefault(canonicalize_name(c.name), []).append(c)
    return out


def _roots_are_unneeded(comps: list[Comp]) -> None:
    """A lock that does not name the project's own requirements: what no locked package needs, the project asked for."""
    needed = {p for c in comps for p in c.depends_on}
    for c in comps:
        c.direct = c.purl not in needed


def from_uv_lock(path: Path) -> list[Comp]:
    """uv.lock: every package with its first sha256; the project (editable/virtual source) and each package's
    `dependencies` make the graph."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: list[tuple[Comp, dict[str, Any]]] = []
    projects = []
    for p in data.get("package", []):
        src = p.get("source", {})
        if "editable" in src or "virtual" in src:  # the project itself (or a workspace member)
            projects.append(p)
            continue
        files = [p.get("sdist", {}), *p.get("wheels", [])]
        digest = next((d for d in (_sha256_of(f) for f in files if f) if d), "")
        comp = Comp("pypi", p["name"], str(p.get("version", "")), {"SHA-256": digest} if digest else {}, source=path.name)
        out.append((comp, p))
    by_name = _by_name([c for c, _ in out])

    def targets(entries: list[dict[str, Any]]) -> Iterator[Comp]:
        for e in entries:
            found = by_name.get(canonicalize_name(str(e.get("name", ""))), [])
            yield from (c for c in found if "version" not in e or c.version == str(e["version"]))

    for comp, p in out:
        comp.depends_on = {t.purl for t in targets(p.get("dependencies", []))}
    if not projects:
        _roots_are_unneeded([c for c, _ in out])
    for p in projects:
        asks = list(p.get("dependencies", []))
        for group in (p.get("optional-dependencies", {}), p.get("dev-dependencies", {})):
            for entries in group.values():
                asks += entries
        for t in targets(asks):
            t.direct = True
    return [c for c, _ in out]


def from_poetry_lock(path: Path) -> list[Comp]:
    """poetry.lock: packages and what each depends on; it does not name the project's own requirements, so the
    packages nothing else needs are taken as the project's."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: list[tuple[Comp, dict[str, Any]]] = []
    for p in data.get("package", []):
        digest = next((d for d in (_sha256_of(f) for f in p.get("files", [])) if d), "")
        comp = Comp("pypi", p["name"], str(p.get("version", "")), {"SHA-256": digest} if digest else {}, source=path.name)
        out.append((comp, p))
    by_name = _by_name([c for c, _ in out])
    for comp, p in out:
        comp.depends_on = {t.purl for dep in p.get("dependencies", {}) for t in by_name.get(canonicalize_name(dep), [])}
    _roots_are_unneeded([c for c, _ in out])
    return [c for c, _ in out]


_NPM_DEPS = ("dependencies", "optionalDependencies", "peerDependencies")


def from_package_lock(path: Path) -> list[Comp]:
    """package-lock.json (v2/v3): every installed package; the root's (dev)dependencies and each package's
    dependencies, resolved as Node does (nearest node_modules upwards), make the graph."""
    data = json.loads(path.read_text(encoding="utf-8"))
    packages: dict[str, Any] = data.get("packages") or {}
    at: dict[str, Comp] = {}
    for where, p in packages.items():
        if not where:  # "" is the root project
            continue
        name = p.get("name") or where.rsplit("node_modules/", 1)[-1]
        hashes = {}
        integrity = str(p.get("integrity", ""))
        if integrity.startswith("sha512-"):
            hashes["SHA-512"] = base64.b64decode(integrity[7:]).hex()
        lic = p.get("license", "")
        at[where] = Comp("npm", name, str(p.get("version", "")), hashes, lic if isinstance(lic, str) else "", source=path.name)

    def resolve(where: str, dep: str) -> Comp | None:
        base = where
        while True:
            found = at.get(f"{base}/node_modules/{dep}" if base else f"node_modules/{dep}")
            if found is not None or not base:
                return found
            base = base.rsplit("/node_modules/", 1)[0] if "/node_modules/" in base else ""

    for where, p in packages.items():
        deps = [d for kind in (*_NPM_DEPS, *(("devDependencies",) if not where else ())) for d in p.get(kind) or {}]
        targets = [t for t in (resolve(where, d) for d in deps) if t is not None]
        if not where:
            for t in targets:
                t.direct = True
        elif where in at:
            at[where].depends_on = {t.purl for t in targets}
    return list(at.values())


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
    for comp in comps:  # the same package from two files: one component, needed as either says
        seen = unique.setdefault(comp.purl, comp)
        if seen is not comp:
            seen.direct = seen.direct or comp.direct
            seen.depends_on |= comp.depends_on
    return sorted(unique.values(), key=lambda c: c.purl), notes


def to_cyclonedx(comps: list[Comp], *, name: str) -> str:
    """CycloneDX 1.6 JSON; `dependencies` holds the graph as far as the inputs tell it: the root (the project)
    depends on the direct requirements, each component on what its lock entry or `# via` annotation says."""
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    lf = LicenseFactory()
    bom = Bom()
    root = Component(name=name, type=ComponentType.APPLICATION, bom_ref=f"maestro:{name}")
    bom.metadata.component = root
    made: dict[str, Component] = {}
    for c in comps:
        made[c.purl] = Component(
            name=c.name,
            version=c.version or None,
            type=ComponentType.LIBRARY,
            purl=PackageURL.from_string(c.purl),
            bom_ref=c.purl,
            hashes=[HashType(alg=HashAlgorithm(alg), content=v) for alg, v in sorted(c.hashes.items())],
            licenses=[lf.make_from_string(c.license)] if c.license else [],
            properties=[Property(name="maestro:requirement", value=c.requirement)] if c.requirement else [],
        )
        bom.components.add(made[c.purl])

    def refs(purls: set[str]) -> list[Dependency]:
        return [Dependency(ref=made[p].bom_ref) for p in sorted(purls) if p in made]

    bom.dependencies.add(Dependency(ref=root.bom_ref, dependencies=refs({c.purl for c in comps if c.direct})))
    for c in comps:
        bom.dependencies.add(Dependency(ref=made[c.purl].bom_ref, dependencies=refs(c.depends_on)))
    with warnings.catch_warnings():
        # a Python environment (--python) does not say who asked for what: such a BOM has no edges from its root,
        # which the library warns about; the step log carries no such warning
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
