"""Benchmark: data_acquisition's evaluate against the original procedure, at the official seller sizes.

    python tests/benchmarks/data_acquisition_evaluate.py [--scale 1.0] [--markets 1] [--features 768]
                                                        [--workspace DIR]  (keep the generated data, reuse it)
                                                        [--no-original]    (skip steps 1-2)

The official data is 5 markets of 20 sellers of up to 30,000 rows of 768 features (about 18 GB of CSV);
at scale 1 one market is about 3 GB, so the default runs the official seller sizes on one market
(--markets 5 runs all five where the disk and time allow).  It generates the markets and the five
baselines' submissions, then times, each in a fresh process (so that CPU time and peak memory are its own):
  1. the original procedure (tests/originals/data_acquisition.py, the repository's evaluator) on the
     quality_greedy submission: every trial reloads the market with numpy.loadtxt, then draws and fits;
  2. this evaluator, compat mode, the same submission (every market's score is checked identical);
  3. this evaluator, default mode, all five submissions, with 1 worker and with one per core.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.timing import cpu_seconds, peak_mib  # noqa: E402


def step(args) -> None:
    """One measured step, in this (fresh) process; prints seconds, CPU, peak memory and scores as JSON."""
    ws = Path(args.ws)
    from data_acquisition.evaluate import evaluate
    from originals.data_acquisition import original_evaluate
    started, cpu = time.perf_counter(), cpu_seconds()       # imports excluded on both sides
    if args.step == "original":
        result = original_evaluate(ws / "marketinfo", ws / "features", ws / "submissions" / "quality_greedy",
                                   args.market_ids)
        scores = {str(k): v["acc"] for k, v in result.items()}
    else:
        folder = ws / ("one" if args.step == "compat" else "submissions")
        out = ws / f"results_{args.step}_{args.workers}"
        evaluate(ws / f"{args.step}_{args.workers}.yaml", ws / "marketinfo", ws / "features", folder, out)
        rows = json.loads((out / "summary.json").read_text())["rows"]
        scores = {str(r["market"]): r["accuracy"] for r in rows if r["method"] == "quality_greedy"}
    cpu_end, peak = cpu_seconds(), peak_mib()
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": cpu_end - cpu, "peak_mib": peak,
                      "scores": scores}))


def measure(ws: Path, name: str, markets: list[int], workers="1") -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", name, "--ws", str(ws), "--workers", str(workers),
                           "--market-ids", *map(str, markets)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["fits"] = next((line.split(": ", 1)[1] for line in proc.stdout.splitlines()
                           if line.startswith("evaluate: ")), "")
    return result


def prepare(ws: Path, data: dict, markets: list[int]) -> float:
    """Markets, baselines and the parameter files in ws (kept when they are already there); download seconds."""
    from data_acquisition.baselines import create_baselines
    from data_acquisition.download import download
    ws.mkdir(parents=True, exist_ok=True)
    fresh = not (ws / "parameters.yaml").is_file() or yaml.safe_load((ws / "parameters.yaml").read_text()) != data
    started = time.perf_counter()
    if fresh or not (ws / "submissions").is_dir():
        (ws / "parameters.yaml").write_text(yaml.safe_dump(data))
        download(ws / "parameters.yaml", ws / "marketinfo", ws / "features")
        create_baselines(ws / "parameters.yaml", ws / "marketinfo", ws / "submissions")
    (ws / "one" / "quality_greedy").mkdir(parents=True, exist_ok=True)
    for k in markets:
        (ws / "one" / "quality_greedy" / f"{k}.txt").write_text(
            (ws / "submissions" / "quality_greedy" / f"{k}.txt").read_text())
    for mode, workers in (("compat", 1), ("compat", "auto"), ("strict", 1), ("strict", "auto")):
        (ws / f"{mode}_{workers}.yaml").write_text(yaml.safe_dump(
            {**data, "evaluate": {"compat": mode == "compat", "workers": workers}}))
    return time.perf_counter() - started


def line(what: str, r: dict, reference: dict | None = None) -> str:
    text = f"{what:<44} {r['seconds']:7.1f} s wall, {r['cpu']:7.1f} s CPU, peak {r['peak_mib']:6.0f} MiB"
    if reference:
        text += (f"; {reference['seconds'] / r['seconds']:5.1f}x faster (wall), "
                 f"{reference['cpu'] / r['cpu']:5.1f}x less CPU")
    return text + (f" ({r['fits']})" if r.get("fits") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--markets", type=int, default=1)
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--workspace", type=Path, default=None, help="keep the generated data here and reuse it")
    parser.add_argument("--step", default=None)
    parser.add_argument("--ws", default=None)
    parser.add_argument("--workers", default="1")
    parser.add_argument("--market-ids", type=int, nargs="*", default=[])
    parser.add_argument("--no-original", action="store_true", help="skip the original procedure and compat")
    args = parser.parse_args()
    if args.step:
        return step(args)
    markets = list(range(args.markets))
    data = {"data": {"markets": markets, "scale": args.scale, "features": args.features}}
    with tempfile.TemporaryDirectory() as tmp:
        ws = args.workspace or Path(tmp)
        prepare_seconds = prepare(ws, data, markets)
        rows = sum(json.loads((ws / "marketinfo" / str(k) / "summary" / f"{i}.csv.json").read_text())["row_number"]
                   for k in markets for i in range(20))
        size = sum(p.stat().st_size for p in (ws / "features").rglob("*.csv")) / 1024 ** 3
        if not args.no_original:
            original = measure(ws, "original", markets)
            compat = {w: measure(ws, "compat", markets, w) for w in ("1", "auto")}
        strict = {w: measure(ws, "strict", markets, w) for w in ("1", "auto")}
    print(f"\n{args.markets} market(s) at scale {args.scale}: {rows} seller rows of {args.features} features, "
          f"{size:.2f} GB of seller CSV (generated in {prepare_seconds:.0f} s)")
    for w, r in strict.items():
        print(line(f"this evaluator, 5 files x 5 trials, workers={w}", r))
    if args.no_original:
        return
    print(line("original procedure, 1 file x 10 trials", original))
    for w, r in compat.items():
        print(line(f"this evaluator, compat, same file, workers={w}", r, original))
    identical = all(r["scores"] == original["scores"] for r in compat.values())
    print(f"compat scores identical to the original procedure (every market): {identical}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
