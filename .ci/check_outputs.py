"""Check what a cube's Docker run left in its workspace: every expected file, owned by the caller."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from common.results.leaderboard import SCHEMA   # the schema this version writes


def expected_files(cube: str, ws: Path) -> list[Path]:
    params = yaml.safe_load((ws / "parameters.yaml").read_text())
    if cube == "vision_debugging":
        tasks = params["data"]["tasks"]
        files = [ws / "results" / "summary.json", ws / "plots" / "fraction_fixes_speed.png"]
        for t in tasks:
            files += [ws / "results" / f"{t}_evaluation.json", ws / "plots" / f"{t}_evaluation.png",
                      ws / "data" / f"dataset_{t}_train.csv", ws / "submissions" / f"{t}_knn_shapley.txt"]
        return files
    if cube == "speech_selection":
        langs, budgets = params["data"]["languages"], params.get("budgets", [25, 60])
        files = [ws / "results" / "summary.json", ws / "plots" / "scores.png"]
        for lang in langs:
            files.append(ws / "data" / f"dataperf_{lang}_data" / "allowed_training_set.yaml")
            for b in budgets:
                files += [ws / "results" / f"{lang}_{b}_evaluation.json", ws / "plots" / f"per_class_f1_{lang}_{b}.png",
                          ws / "submissions" / "cross_validation" / f"{lang}_{b}_train.json"]
        return files
    if cube == "vision_selection":
        concepts = params.get("data", {}).get("concepts", ["Cupcake", "Hawk", "Sushi"])
        resources = ws / "data" / "dataperf-vision-selection-resources"
        files = [ws / "results" / "summary.json", ws / "plots" / "f1_per_concept.png", ws / "plots" / "precision_recall.png",
                 resources / "embeddings" / "train_emb_256_dataperf.parquet" / "_SUCCESS"]
        for c in concepts:
            files += [ws / "results" / f"{c}_evaluation.json", resources / "examples" / f"alpha_example_set_{c}.csv",
                      resources / "test_sets" / f"alpha_test_set_{c}_256.parquet",
                      ws / "submissions" / "pseudo_boundary" / f"{c}.csv"]
        return files
    if cube == "data_acquisition":
        markets = params.get("data", {}).get("markets", [0, 1, 2, 3, 4])
        files = [ws / "results" / "summary.json", ws / "plots" / "accuracy_vs_rows.png",
                 ws / "plots" / "spend_per_seller.png"]
        for k in markets:
            files += [ws / "results" / f"{k}_evaluation.json", ws / "marketinfo" / str(k) / "price" / "budget.txt",
                      ws / "features" / str(k) / "19.csv", ws / "submissions" / "quality_greedy" / f"{k}.txt"]
        return files
    raise SystemExit(f"check_outputs: unknown cube {cube}")


# The Croissant file(s) every download writes (the images write them without mlcroissant).
CROISSANT_FOLDERS = {"vision_debugging": ["embeddings", "data"], "speech_selection": ["data"],
                     "vision_selection": ["data"], "data_acquisition": ["marketinfo", "features"]}


def croissant_problems(cube: str, ws: Path) -> list[str]:
    """Each Croissant file is there and mlcroissant (installed on the host by `make setup`) finds no error in it."""
    import mlcroissant as mlc

    problems = []
    for folder in CROISSANT_FOLDERS[cube]:
        path = ws / folder / "croissant.json"
        if not path.is_file():
            problems.append(f"missing {path}")
            continue
        try:
            mlc.Dataset(jsonld=str(path))
        except mlc.ValidationError as exc:
            problems.append(f"{path}: {exc}")
    return problems


def main() -> None:
    cube, ws, uid = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    problems = [f"missing {p}" for p in expected_files(cube, ws) if not p.is_file()]
    problems += croissant_problems(cube, ws)
    problems += [f"{p} is owned by uid {p.stat().st_uid}, not {uid}"
                 for p in ws.rglob("*") if p.stat().st_uid != uid]
    if problems:
        raise SystemExit("\n".join(problems))
    summary = json.loads((ws / "results" / "summary.json").read_text())
    if summary.get("schema") != SCHEMA or not summary["ranking"]:
        raise SystemExit(f"{ws / 'results' / 'summary.json'}: not a summary with scored methods")
    container = summary["run"].get("container") or {}
    if not str(container.get("image_id") or "").startswith("sha256:"):
        raise SystemExit(f"the run record does not name the image it ran in: {container}")
    score = summary["score"]
    for method in summary["ranking"]:
        s = summary["methods"][method]
        print(f"   {cube} {s['rank']:>2} {method:<20} {score['name']} {s['mean']:.4f} "
              f"[{s['ci95_low']:.4f}, {s['ci95_high']:.4f}] over {s['n']} {summary['group_by']}s")
    print(f"   {cube} ran in {container['image']} ({container['image_id'][:19]}...)")


if __name__ == "__main__":
    main()
