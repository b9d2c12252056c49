"""Runbooks: the Markdown files of docs/runbooks, served by the API so alert links open in the UI.

In a checkout they are read from docs/runbooks; a wheel carries them as maestro/runbooks
(pyproject force-include), so an installed Maestro serves the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def runbook_dir() -> Path:
    packaged = Path(__file__).resolve().parents[1] / "runbooks"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "docs" / "runbooks"


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    markdown: str


def _title(markdown: str, name: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("# "):  # plain text for lists and page titles: no Markdown backticks, a capital first
            title = line[2:].strip().removeprefix("Runbook:").strip().replace("`", "")
            return title[:1].upper() + title[1:]
    return name


@cache
def _load(path: Path, mtime_ns: int) -> Runbook:  # keyed on mtime: edits show without a restart
    text = path.read_text(encoding="utf-8")
    return Runbook(path.stem, _title(text, path.stem), text)


def get(name: str) -> Runbook | None:
    if not NAME.match(name):
        return None
    path = runbook_dir() / f"{name}.md"
    if not path.is_file():
        return None
    return _load(path, path.stat().st_mtime_ns)


def all_runbooks() -> list[Runbook]:
    out = []
    for path in sorted(runbook_dir().glob("*.md")):
        if path.stem != "README" and (rb := get(path.stem)) is not None:
            out.append(rb)
    return out
