"""Starter policies seeded for every tenant (they can be edited or disabled like any other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Starter:
    name: str
    description: str
    points: tuple[str, ...]
    source: str


STARTERS = [
    Starter(
        "prod-promotion-signed-sbom",
        "Promotion to a production environment requires signed artifacts and an SBOM.",
        ("promote",),
        """package maestro.promote.signed_sbom

import rego.v1

production if startswith(input.env, "prod")

has_sbom if object.get(input, "sbom", null) != null

deny contains msg if {
	production
	some artifact in input.artifacts
	not artifact.signed
	msg := sprintf(
		"%s is not signed: promotion to %s requires signed artifacts (add a `uses: sign` step)",
		[artifact.path, input.env],
	)
}

deny contains msg if {
	production
	count(input.artifacts) == 0
	msg := sprintf("nothing to promote: promotion to %s requires signed artifacts", [input.env])
}

deny contains msg if {
	production
	not has_sbom
	msg := sprintf("no SBOM: promotion to %s requires one (add a `uses: sbom` step)", [input.env])
}
""",
    ),
    Starter(
        "pinned-images",
        "Steps may not use unpinned `:latest` container images.",
        ("admission",),
        """package maestro.admission.pinned_images

import rego.v1

deny contains msg if {
	some step in input.spec.steps
	some image in regex.find_n(`[A-Za-z0-9][A-Za-z0-9._/-]*:latest`, object.get(step, "run", ""), -1)
	# concat, not sprintf: regopy quotes strings that come from regex results inside sprintf
	msg := concat("", ["step ", step.id, " uses the unpinned image ", image, ": pin a version or a digest"])
}
""",
    ),
    Starter(
        "no-privileged-commands",
        "Steps may not run the privileged commands this policy lists.",
        ("admission",),
        """package maestro.admission.privileged

import rego.v1

# edit this list to match what your runners must never do
privileged := ["sudo", "--privileged", "chmod 777", "nsenter", "setcap"]

deny contains msg if {
	some step in input.spec.steps
	some command in privileged
	some word in split(replace(object.get(step, "run", ""), "\\n", " "), " ")
	word == command
	msg := sprintf("step %s runs the privileged command `%s`", [step.id, command])
}

deny contains msg if {
	some step in input.spec.steps
	some command in privileged
	contains(command, " ")
	contains(object.get(step, "run", ""), command)
	msg := sprintf("step %s runs the privileged command `%s`", [step.id, command])
}
""",
    ),
]
