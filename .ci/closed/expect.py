"""The outcomes .ci/closed_e2e.sh expects of its rounds, and the honest images' scores against local runs.

    python .ci/closed/expect.py VD_WORKSPACE DA_WORKSPACE ROUND
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
    ("duplicates", "invalid_output"), ("sparse-file", "output_too_large"), ("symlink-then-big", "invalid_output"),
    ("seccomp", "scored"), ("scratch-volume", "scored"), ("mountinfo", "scored"),
    ("vd-template", "scored"), ("missing-image:none", "image_error"),
]
PROBES = {"find-hidden": "FindHidden", "write-outside": "WriteOutside", "escalate": "Escalate",
          "docker-socket": "DockerSocket", "network": "Network", "seccomp": "Seccomp",
          "scratch-volume": "ScratchVolume", "mountinfo": "Mountinfo"}
# Outputs refused while the engine was still sending them: the copy must be closed at once (it once took 120 s).
ABANDONED_COPIES = ("sparse-file", "symlink-then-big")
CLEANUP_SECONDS = 1.0
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


def seed_leaks(cube: str, folder: Path, seed: int) -> list[str]:
    """Every file of the round, searched for the secret data seed, written in decimal or hexadecimal."""
    forms = {str(seed).encode(), f"{seed:x}".encode(), f"{seed:X}".encode(), f"{seed:#x}".encode()}
    files = [p for p in folder.rglob("*") if p.is_file()]
    leaks = [f"{cube}: {p.relative_to(folder)} holds the secret data seed" for p in files
             if any(form in p.read_bytes() for form in forms)]
    if not leaks:
        print(f"   {cube}: the data seed is in none of the round's {len(files)} files")
    return leaks


def check(cube: str, workspace: Path, expected: list[tuple[str, str]], round_name: str) -> list[str]:
    folder = workspace / "closed" / round_name
    results = json.loads((folder / "results.json").read_text())
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
        if "\n" in (entry["reason"] or ""):
            problems.append(f"{cube} {name}: the reason is not one line")
        count = entry.get("problem_count", 1)
        if count > 1 and not entry["reason"].endswith(f"(and {count - 1} more)"):
            problems.append(f"{cube} {name}: {count} problems, the reason does not count them")
        if name in ABANDONED_COPIES:
            print(f"      container {entry['seconds']} s, cleanup {entry['cleanup_seconds']} s, "
                  f"all {entry['wall_seconds']} s")
            if entry["cleanup_seconds"] is None or entry["cleanup_seconds"] >= CLEANUP_SECONDS:
                problems.append(f"{cube} {name}: cleaning up took {entry['cleanup_seconds']} s")
        if name == "mountinfo":
            tail = entry["log_tail"]
            if "MOUNT /dataperf/view" not in tail:
                problems.append(f"{cube} mountinfo: the probe did not list the mounts ({tail[-300:]!r})")
            for secret in (str(workspace), str(workspace.resolve()), round_name):
                if secret in tail:
                    problems.append(f"{cube} mountinfo: the container's mountinfo shows {secret!r}")
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
    seed = yaml.safe_load((workspace / "parameters.yaml").read_text())["data"]["seed"]
    return problems + seed_leaks(cube, folder, seed)


def main() -> None:
    vd, da, round_name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    problems = check("vision_debugging", vd, VISION_DEBUGGING, round_name) + \
        check("data_acquisition", da, DATA_ACQUISITION, round_name)
    for problem in problems:
        print(f"closed: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
