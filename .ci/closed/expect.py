"""The outcomes .ci/closed_e2e.sh expects of its rounds, and the honest images' scores against local runs.

    python .ci/closed/expect.py VD_WORKSPACE DA_WORKSPACE
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from common.tasks.local import run_tasks  # noqa: E402

# image name (the part after the CI tag) -> expected status; the probes must also have said CONTAINED.
VISION_DEBUGGING = [
    ("vd-template", "scored"), ("find-hidden", "scored"), ("write-outside", "scored"), ("escalate", "scored"),
    ("docker-socket", "scored"), ("network", "scored"), ("fork-bomb", "timeout"), ("memory-bomb", "out_of_memory"),
    ("endless-loop", "timeout"), ("flood-big", "output_too_large"), ("flood-many", "output_too_large"),
    ("symlinks", "invalid_output"), ("patched-evaluator", "scored"), ("traceback", "failed"),
    ("duplicates", "invalid_output"), ("vd-template", "scored"), ("missing-image:none", "image_error"),
]
PROBES = {"find-hidden": "FindHidden", "write-outside": "WriteOutside", "escalate": "Escalate",
          "docker-socket": "DockerSocket", "network": "Network"}
DATA_ACQUISITION = [("da-template", "scored"), ("over-budget", "invalid_output")]
TEMPLATES = {"vision_debugging": ("my_appraiser:NeighbourDisagreement", ["embeddings", "data"]),
             "data_acquisition": ("my_strategy:CorrelationMatch", ["marketinfo", "features"])}


def local_score(cube: str, workspace: Path) -> dict:
    """The template's class run locally on the round's data, with the algorithm's seed (closed.seed)."""
    spec, folders = TEMPLATES[cube]
    sys.path.insert(0, str(ROOT / cube / "closed_template"))
    params = yaml.safe_load((workspace / "parameters.yaml").read_text())
    params["seed"] = params.get("closed", {}).get("seed", 0)
    params.setdefault("baselines", {})["methods"] = [spec]
    local = workspace.parent / f"{workspace.name}-local"
    local.mkdir()
    (local / "parameters.yaml").write_text(yaml.safe_dump(params))
    for name in folders:
        os.symlink(workspace / name, local / name)
    run_tasks(cube=cube, tasks=["create_baselines", "evaluate"], workspace=local, overrides={})
    summary = json.loads((local / "results" / "summary.json").read_text())
    return {m: s["mean"] for m, s in summary["methods"].items()}


def check(cube: str, workspace: Path, expected: list[tuple[str, str]]) -> list[str]:
    results = json.loads((workspace / "closed" / "ci" / "results.json").read_text())
    entries = results["images"]
    problems = []
    if results["data"] != "hidden":
        problems.append(f"{cube}: the round ran on {results['data']} data, not hidden")
    if len(entries) != len(expected):
        return problems + [f"{cube}: {len(entries)} images recorded, {len(expected)} run"]
    for entry, (name, status) in zip(entries, expected):
        line = f"{cube} {name}: {entry['status']}: {(entry['reason'] or '')[:160]}"
        print("   " + line)
        if entry["status"] != status:
            problems.append(f"{line} (expected {status})")
        if "BREACH" in entry["log_tail"]:
            problems.append(f"{cube} {name}: the sandbox was breached: {entry['log_tail'][-500:]}")
        if name in PROBES and f"CONTAINED {PROBES[name]}" not in entry["log_tail"]:
            problems.append(f"{cube} {name}: its probe did not report (log tail: {entry['log_tail'][-300:]!r})")
        if status == "scored" and not entry["repo_digests"] and not entry["id"]:
            problems.append(f"{cube} {name}: no image id recorded")
    honest = [e for e, (name, _) in zip(entries, expected) if name.endswith("-template")]
    want = local_score(cube, workspace)
    print(f"   {cube}: local run of the template's class: {want}")
    for entry in honest:
        if entry["score"] != want:
            problems.append(f"{cube}: the honest image scored {entry['score']}, a local run {want}")
    if cube == "vision_debugging":
        patched = entries[[n for n, _ in expected].index("patched-evaluator")]
        if patched["score"] != want:
            problems.append(f"the patched evaluator changed the score: {patched['score']} (template: {want})")
    return problems


def main() -> None:
    vd, da = Path(sys.argv[1]), Path(sys.argv[2])
    problems = check("vision_debugging", vd, VISION_DEBUGGING) + check("data_acquisition", da, DATA_ACQUISITION)
    for problem in problems:
        print(f"closed: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
