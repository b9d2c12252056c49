"""Spec validation names the exact field and step; plans expand matrices; expressions are safe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maestro.pipelines import expr
from maestro.pipelines.spec import SpecError, parse, plan, resolve_inputs


def errors_of(text: str) -> list[dict[str, str]]:
    with pytest.raises(SpecError) as e:
        parse(text)
    return e.value.errors


def test_cycle_is_reported_with_its_path() -> None:
    errs = errors_of(
        "name: p\nsteps:\n- {id: a, run: x, needs: [c]}\n- {id: b, run: x, needs: [a]}\n- {id: c, run: x, needs: [b]}\n"
    )
    assert errs == [{"field": "steps[0](a).needs", "message": "dependency cycle: a → c → b → a"}]


def test_unknown_needs_duplicate_ids_bad_timeout_unknown_field() -> None:
    errs = errors_of(
        "name: p\nsteps:\n- {id: a, run: x}\n- {id: a, run: y, needs: [zz]}\n- {id: b, run: z, timeout: 3 days, colour: red}\n"
    )
    fields = {(e["field"], e["message"].split(":")[0]) for e in errs}
    assert ("steps[2](b).timeout", "'3 days' is not a duration") in fields
    assert ("steps[2](b).colour", "unknown field") in fields


def test_duplicates_and_unknown_needs() -> None:
    errs = errors_of("name: p\nsteps:\n- {id: a, run: x}\n- {id: a, run: y, needs: [zz]}\n")
    assert {"field": "steps[1](a).id", "message": "duplicate step id (also steps[0])"} in errs
    assert {"field": "steps[1](a).needs", "message": "unknown step 'zz'"} in errs


def test_uses_rollout_points_to_where_rollouts_start() -> None:
    errs = errors_of("name: p\nsteps:\n- {id: a, uses: rollout}\n")
    assert errs[0]["field"] == "steps[0](a)" and "not a pipeline step" in errs[0]["message"]
    assert '{"action": "promote"' in errs[0]["message"] and "POST /api/rollouts" in errs[0]["message"]


def test_expressions_are_checked() -> None:
    errs = errors_of(
        "name: p\nsteps:\n- {id: a, run: 'echo ${{ params.nope }}'}\n- {id: b, run: 'echo ${{ steps.a.outputs.v }}'}\n"
    )
    assert {"field": "steps[0](a).run", "message": "unknown param 'nope'"} in errs
    assert {"field": "steps[1](b).run", "message": "steps.a.outputs.v is read but 'a' is not in needs"} in errs
    errs = errors_of("name: p\nsteps:\n- {id: a, run: x, if: '__import__(\"os\")'}\n")
    assert "bad expression" in errs[0]["message"]


def test_artifact_globs_must_stay_in_the_workspace() -> None:
    errs = errors_of("name: p\nsteps:\n- {id: a, run: x, artifacts: ['../etc/passwd']}\n")
    assert errs[0]["field"] == "steps[0](a).artifacts"


def test_bad_yaml_names_the_line() -> None:
    errs = errors_of("name: p\nsteps:\n  - id: a\n   run: x\n")
    assert errs[0]["field"] == "spec" and "line" in errs[0]["message"]


def test_matrix_expansion_and_needs() -> None:
    s = parse(
        "name: p\nsteps:\n- {id: t, run: 'echo ${{ matrix.py }}', matrix: {py: ['3.11', '3.12']}}\n- {id: d, run: x, needs: [t]}\n"
    )
    p = plan(s)
    assert [x.key for x in p] == ["t[py=3.11]", "t[py=3.12]", "d"]
    assert p[2].needs == ["t[py=3.11]", "t[py=3.12]"]


def test_inputs_are_typed() -> None:
    s = parse(
        "name: p\nparams: {n: {type: number, default: 1}, flag: {type: boolean}, mode: {enum: [a, b], default: a}}\nsteps: [{id: a, run: x}]\n"
    )
    assert resolve_inputs(s, {"n": "3", "flag": "true"}) == {"n": 3, "flag": True, "mode": "a"}
    with pytest.raises(SpecError) as e:
        resolve_inputs(s, {"n": "three", "mode": "c", "extra": 1})
    assert {x["field"] for x in e.value.errors} == {"inputs.n", "inputs.mode", "inputs.extra"}


def test_conditions() -> None:
    ctx = {"params": {"deploy": True, "n": 3}}
    assert expr.evaluate_condition("params.deploy && params.n >= 2", ctx, needs_status=["succeeded"])
    assert not expr.evaluate_condition("params.deploy", ctx, needs_status=["failed"])  # implicit success()
    assert expr.evaluate_condition("failure()", ctx, needs_status=["failed"])
    assert expr.evaluate_condition("always()", ctx, needs_status=["failed"])
    assert expr.interpolate("v=${{ params.n }} ${{ params.missing }}!", ctx) == "v=3 !"


def test_every_pipeline_example_in_the_docs_is_a_valid_spec() -> None:
    """A user copies the docs' example first: it must pass the same validation the API applies."""
    root = Path(__file__).resolve().parent.parent
    examples = [
        (doc.name, block)
        for doc in sorted((root / "docs").rglob("*.md"))
        for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.S)
        if re.search(r"^steps:", block, flags=re.M)
    ]
    assert examples, "docs/pipelines.md shows a pipeline spec"
    for name, block in examples:
        try:
            parse(block)
        except SpecError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_common_mistakes_are_explained_in_the_authors_terms() -> None:
    errs = errors_of("name: Release Train\nsteps: []\n")
    assert {e["field"]: e["message"] for e in errs} == {
        "name": "'Release Train' is not a valid name: use lowercase letters, digits, - and _, starting with a letter or digit (at most 63)",
        "steps": "a pipeline needs at least one step",
    }
    assert errors_of("name: ok\nsteps:\n- {id: Build, run: make}\n")[0]["field"] == "steps[0](Build).id"


EVIL = ['x"; touch pwned; echo "', "y'; touch pwned; echo '", "$(touch pwned)", "`touch pwned`", "a  b\n*", "${HOME}"]


@pytest.mark.parametrize("value", EVIL)
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('echo "v=${{ params.v }}"', "v={v}\n"),
        ("echo ${{ params.v }}", "{v}\n"),
        ("echo 'v=${{ params.v }}'", "v={v}\n"),
        ("printf '%s\\n' ${{ params.v }}", "{v}\n"),
        ("cat <<EOF\nv=${{ params.v }}\nEOF", "v={v}\n"),
        ('x="$(echo ${{ params.v }})"; printf "%s\\n" "$x"', "{v}\n"),
    ],
)
def test_an_input_never_becomes_shell_text(template: str, expected: str, value: str, tmp_path: Path) -> None:
    """Whatever the value, the rewritten command prints it literally and runs nothing of it."""
    import subprocess

    from maestro.pipelines.shellsafe import make_safe

    safe = make_safe(template)
    env = {"PATH": "/usr/bin:/bin", **{name: value for name in safe.refs}}
    out = subprocess.run(["bash", "-eo", "pipefail", "-c", safe.command], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected.format(v=value)
    assert list(tmp_path.iterdir()) == []  # nothing was executed


def test_quoting_that_changes_meaning_is_warned_about() -> None:
    from maestro.pipelines.spec import parse, warnings

    spec = parse(
        "name: w\nparams: {v: {default: x}}\nsteps:\n- id: a\n  run: |\n    echo '${{ params.v }}'\n"
        "    cat <<'EOF'\n    ${{ params.v }}\n    EOF\n    echo \"${{ params.v }}\"\n"
    )
    found = warnings(spec)
    assert [w["field"] for w in found] == ["steps[0](a).run", "steps[0](a).run"]
    assert "single quotes" in found[0]["message"] and "quoted heredoc" in found[1]["message"]


@pytest.mark.parametrize(
    ("run", "why"),
    [
        ("if [[ ${{ params.v }} -gt 3 ]]; then echo big; fi", "[[ ]]"),
        ("echo $(( ${{ params.v }} + 1 ))", "arithmetic"),
        ("(( n = ${{ params.v }} ))", "arithmetic"),
        ("echo ${arr[${{ params.v }}]}", "parameter expansion"),
        ("eval echo ${{ params.v }}", "eval"),
        ('bash -c "echo ${{ params.v }}"', "bash -c"),
        ("echo `echo ${{ params.v }}`", "backquotes"),
        ("echo $'${{ params.v }}'", "$'"),
    ],
)
def test_places_where_bash_would_run_the_value_are_refused(run: str, why: str, tmp_path: Path) -> None:
    """Quoting cannot help there: `a[$(touch pwned)]` runs in arithmetic even quoted. The spec is refused."""
    import subprocess

    from maestro.pipelines.shellsafe import make_safe

    spec = "name: r\nparams: {v: {default: '1'}}\nsteps:\n- id: a\n  run: |\n    " + run + "\n"
    with pytest.raises(SpecError) as exc:
        parse(spec)
    assert exc.value.errors[0]["field"] == "steps[0](a).run" and why in exc.value.errors[0]["message"]
    if why in {"[[ ]]", "arithmetic"}:  # the danger is real: the rewritten command, run, would have executed it
        safe = make_safe(run)
        env = {"PATH": "/usr/bin:/bin", **dict.fromkeys(safe.refs, "a[$(touch pwned)]")}
        subprocess.run(["bash", "-c", safe.command], env=env, cwd=tmp_path, capture_output=True)
        assert (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "template",
    [
        "cat <<\\EOF\nit's\nEOF\nfind . -name ${{ params.v }}",  # a backslash-quoted heredoc tag
        "echo $(( 1 << 2 )); find . -name ${{ params.v }}",  # a shift, not a heredoc
        "echo $'\\''; find . -name ${{ params.v }}",  # ANSI-C quoting with an escaped quote
    ],
)
def test_quoting_the_scanner_must_not_misread(template: str, tmp_path: Path) -> None:
    """Constructs that once made the scanner lose track of quoting: the reference is still one quoted word."""
    import subprocess

    from maestro.pipelines.shellsafe import make_safe

    (tmp_path / "y").touch()
    safe = make_safe(template)
    assert not safe.errors
    env = {"PATH": "/usr/bin:/bin", **dict.fromkeys(safe.refs, "x -o -exec touch P1 ; -o -name y")}
    subprocess.run(["bash", "-c", safe.command], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert not (tmp_path / "P1").exists()
