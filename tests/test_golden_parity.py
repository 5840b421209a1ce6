"""The browser port (web/static/ondevice/) against the Python runtime, without a browser: the golden cases in
tests/golden/ (skindoctor.dev.golden) must be what this checkout answers, and the JS modules, run by Node's own
test runner on them (tests/js/), must answer the same."""

import json
import os
import shutil
import subprocess
from collections import Counter

import pytest

from skindoctor.dev import golden

from .conftest import ROOT

REGENERATE = "python -m skindoctor.dev.golden"


def cases(name: str) -> list[dict]:
    return json.loads((golden.GOLDEN / name).read_text(encoding="utf-8"))["cases"]


def test_the_goldens_hold_what_python_answers_now():
    wrong = golden.stale(golden.GOLDEN)
    assert not wrong, f"{len(wrong)} golden answers are out of date: run `{REGENERATE}`\n" + "\n".join(wrong[:20])


def test_the_goldens_are_small_and_take_every_path():
    assert sum(p.stat().st_size for p in golden.GOLDEN.iterdir()) < 2_000_000
    frames = [c["out"] for c in cases("frames.json")]
    assert {f["frame_quality"]["reason"] for f in frames} == {"ok", "too_dark", "too_bright", "no_skin"}
    assert {f["lesion_quality"]["reason"] for f in frames} == {"ok", "no_lesion", "too_small", "blurry"}
    seen = Counter()
    for case in cases("hold.json"):
        for before, state in zip([None, *case["out"]], case["out"]):
            if state is not None:
                c = state["confirmation"]
                seen["confirmed"] += c is not None
                seen["two candidates"] += c is not None and len(c["candidates"]) > 1
                seen["undecided"] += state["undecided"] is not None
                seen["re-armed"] += bool(before) and before["phase"] == "confirmed" and state["phase"] == "holding"
                seen["settled"] += c is not None and bool(before) and before["undecided"] == "changing"
    assert len(seen) == 5 and min(seen.values()) >= 2, seen
    rules = {r.split(":")[0] for c in cases("advice.json") for r in c["out"]["advice"]["triage_reasons"]}
    assert rules >= {"class", "malignant-score", "prompt-class", "low-confidence", "unfamiliar-picture"}, rules


def node_problem() -> str | None:
    """Why Node cannot run tests/js/ here, or None."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed (CI has it)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = (int(part) for part in version.strip().lstrip("v").split(".")[:2])
    if major > 22 or (major, minor) >= (22, 7) or (major == 20 and minor >= 19):
        return None
    return f"node {major}.{minor} cannot import the page's modules (ES modules in .js files): needs 20.19+ or 22.7+"


def failures(tap: str) -> str:
    """The failed tests of a TAP report (not those marked TODO), each with its error."""
    lines, keep = [], False
    for line in tap.splitlines():
        if line.startswith(("ok ", "not ok ", "# Subtest")):
            keep = line.startswith("not ok ") and "# TODO" not in line
        if keep:
            lines.append(line)
    return "\n".join(lines)


def needs_node() -> None:
    problem = node_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)


def test_the_js_port_gives_the_golden_answers():
    needs_node()
    files = sorted(str(p) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    run = subprocess.run(["node", "--test", "--test-reporter=tap", *files], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, failures(run.stdout) or run.stdout[-4000:] + run.stderr[-2000:]


def strict(schema):
    """A JSON Schema with every object's properties all required and nothing else allowed."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema:
            schema |= {"required": sorted(schema["properties"]), "additionalProperties": False}
        return schema
    return [strict(v) for v in schema] if isinstance(schema, list) else schema


def test_the_js_answers_have_the_api_s_json_schema():
    """engine.js's answers (a picture's, and each frame of a stream to a confirmed result) validate against the JSON
    Schema of the server's own result models (results.py): the same keys, types and nesting, nothing extra."""
    import jsonschema_rs

    from skindoctor.results import AnalysisOut, FrameOut

    needs_node()
    run = subprocess.run(["node", str(ROOT / "tests" / "js" / "answers.mjs")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    answers = json.loads(run.stdout)
    for model, key in ((AnalysisOut, "pictures"), (FrameOut, "frames")):
        validator = jsonschema_rs.validator_for(strict(model.model_json_schema(mode="serialization", by_alias=True)))
        for i, answer in enumerate(answers[key]):
            errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(answer)]
            assert not errors, f"{key}[{i}]: " + "; ".join(errors[:5])
    phases = Counter(f["hold"]["phase"] for f in answers["frames"])
    assert phases["holding"] and phases["confirmed"] and sum(f["diagnosis"] is not None for f in answers["frames"]) == 1
    assert any(p["advice"] for p in answers["pictures"]) and any(p["advice"] is None for p in answers["pictures"])
