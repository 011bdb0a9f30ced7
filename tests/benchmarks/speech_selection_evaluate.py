"""Benchmark: speech_selection's evaluate against the original procedure, at the official size.

    python tests/benchmarks/speech_selection_evaluate.py [--scale 1.0] [--files 4]

On one generated language it times
  1. the original procedure per file (eval.py is run once per file: it reads the evaluation set with a
     per-id filter, then fits the 10 seeds one after another);
  2. this evaluator on all files at once with 1 worker and with all cores (evaluation set read once);
and checks that the scores are identical.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from originals.speech_selection import naive_score  # noqa: E402
from speech_selection import baselines  # noqa: E402
from speech_selection.data import generate_language, language_files, read_id_lists, write_language  # noqa: E402
from speech_selection.evaluate import Language, evaluate  # noqa: E402
from speech_selection.model import SEEDS  # noqa: E402
from speech_selection.submission import write_submission  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        files = language_files(ws / "data", "en")
        write_language(files, generate_language("en", args.scale, 0))
        pool = baselines.load_pool(ws / "data", "en")
        selections = {}
        for i in range(args.files):
            selections[f"random{i}"] = baselines.RandomSelection(seed=i).select(pool, 60)
        for name, sel in selections.items():
            write_submission(ws / "submissions", name, "en", 60, sel)
        started = time.perf_counter()
        Language(ws / "data", "en")
        load_seconds = time.perf_counter() - started

        timings = {}
        for workers in (1, "auto"):
            (ws / "parameters.yaml").write_text(yaml.safe_dump(
                {"data": {"languages": ["en"]}, "budgets": [60], "evaluate": {"workers": workers}}))
            started = time.perf_counter()
            evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / f"results_{workers}")
            timings[workers] = time.perf_counter() - started
        ours = json.loads((ws / "results_1" / "en_60_evaluation.json").read_text())["methods"]
        evalset = read_id_lists(files.eval)
        started = time.perf_counter()
        # The original reads the submitted file (sorted keys), so the training rows come in that order.
        naive = {n: naive_score(json.loads((ws / "submissions" / n / "en_60_train.json").read_text()), evalset,
                                files.train_embeddings, files.eval_embeddings, SEEDS)
                 for n in selections}
        naive_seconds = time.perf_counter() - started
    identical = all(abs(ours[n]["macro_f1"] - naive[n]) < 1e-12 for n in naive)
    n_eval = sum(len(v) for v in evalset["targets"].values()) + len(evalset["nontargets"])
    print(f"en at scale {args.scale}: {n_eval} evaluation clips, {len(evalset['nontargets'])} nontargets; "
          f"{args.files} files x {len(SEEDS)} seeds")
    print(f"original procedure:        {naive_seconds / args.files:7.1f} s per file")
    print(f"this evaluator, reading the evaluation set once: {load_seconds:.1f} s")
    for workers, seconds in timings.items():
        print(f"this evaluator, workers={workers!s:<4}: {seconds / args.files:7.1f} s per file "
              f"({seconds:.1f} s in all), {naive_seconds / seconds:4.1f}x faster")
    print(f"scores identical to the original procedure: {identical}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
