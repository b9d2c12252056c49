"""Regenerate the configuration table in README.md from maestro.config.Settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from maestro.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def table() -> str:
    rows = [
        "| setting | default | what |",
        "|---|---|---|",
        "| `MAESTRO_CONFIG_FILE` | unset | Optional TOML/YAML/JSON file with any of the settings below (keys are the "
        "names without `MAESTRO_`, lowercase). Environment variables win over it. |",
    ]
    for name, f in Settings.model_fields.items():
        d = f.default_factory() if f.default_factory else f.default  # type: ignore[call-arg]
        if d is None:
            shown = "unset"
        elif isinstance(d, bool):
            shown = f"`{str(d).lower()}`"
        elif isinstance(d, dict):
            shown = f"`{json.dumps(d)}`"
        else:
            shown = f"`{d}`"
        rows.append(f"| `MAESTRO_{name.upper()}` | {shown} | {f.description} |")
    return "\n".join(rows)


def main() -> None:
    text = README.read_text()
    new = re.sub(
        r"(<!-- settings:start -->\n)(?:.*?\n)?(<!-- settings:end -->)",
        lambda m: m.group(1) + table() + "\n" + m.group(2),
        text,
        flags=re.S,
    )
    README.write_text(new)


if __name__ == "__main__":
    main()
