"""Benchmark: data_acquisition's evaluate against the original procedure, on generated markets.

    python tests/benchmarks/data_acquisition_evaluate.py [--scale 0.02] [--markets 2] [--features 768]
                                                        [--no-original]   (larger scales: skip steps 1-2)

It generates the markets and the five baselines' submissions, then times, each in a fresh process
(so that the peak memory is its own):
  1. the original procedure (tests/originals/data_acquisition.py, the repository's evaluator) on one
     submission: every trial reloads the market with numpy.loadtxt, then draws and fits one after another;
  2. this evaluator, compat mode, the same submission (the same scores are checked);
  3. this evaluator, default mode, all five submissions, with 1 worker and with one per core.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def step(args) -> None:
    """One measured step, in this (fresh) process; prints seconds, peak memory and scores as JSON."""
    ws = Path(args.ws)
    started = time.perf_counter()
    if args.step == "original":
        from originals.data_acquisition import original_evaluate
        result = original_evaluate(ws / "marketinfo", ws / "features", ws / "submissions" / "quality_greedy",
                                   args.market_ids)
        scores = {str(k): v["acc"] for k, v in result.items()}
    else:
        from data_acquisition.evaluate import evaluate
        folder = ws / ("one" if args.step == "compat" else "submissions")
        out = ws / f"results_{args.step}_{args.workers}"
        evaluate(ws / f"{args.step}_{args.workers}.yaml", ws / "marketinfo", ws / "features", folder, out)
        rows = json.loads((out / "summary.json").read_text())["rows"]
        scores = {str(r["market"]): r["accuracy"] for r in rows if r["method"] == "quality_greedy"}
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": peak_mib(), "scores": scores}))


def measure(ws: Path, name: str, markets: list[int], workers="1") -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", name, "--ws", str(ws), "--workers", str(workers),
                           "--market-ids", *map(str, markets)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["fits"] = next((line.split(": ", 1)[1] for line in proc.stdout.splitlines()
                           if line.startswith("evaluate: ")), "")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--markets", type=int, default=2)
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--step", default=None)
    parser.add_argument("--ws", default=None)
    parser.add_argument("--workers", default="1")
    parser.add_argument("--market-ids", type=int, nargs="*", default=[])
    parser.add_argument("--no-original", action="store_true", help="skip the original procedure and compat")
    args = parser.parse_args()
    if args.step:
        return step(args)
    from data_acquisition.baselines import create_baselines
    from data_acquisition.download import download
    markets = list(range(args.markets))
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        data = {"data": {"markets": markets, "scale": args.scale, "features": args.features}}
        (ws / "parameters.yaml").write_text(yaml.safe_dump(data))
        started = time.perf_counter()
        download(ws / "parameters.yaml", ws / "marketinfo", ws / "features")
        download_seconds = time.perf_counter() - started
        create_baselines(ws / "parameters.yaml", ws / "marketinfo", ws / "submissions")
        (ws / "one" / "quality_greedy").mkdir(parents=True)
        for k in markets:
            (ws / "one" / "quality_greedy" / f"{k}.txt").write_text(
                (ws / "submissions" / "quality_greedy" / f"{k}.txt").read_text())
        for mode, workers in (("compat", 1), ("strict", 1), ("strict", "auto")):
            (ws / f"{mode}_{workers}.yaml").write_text(yaml.safe_dump(
                {**data, "evaluate": {"compat": mode == "compat", "workers": workers}}))
        rows = sum(json.loads((ws / "marketinfo" / str(k) / "summary" / f"{i}.csv.json").read_text())["row_number"]
                   for k in markets for i in range(20))
        if not args.no_original:
            original = measure(ws, "original", markets)
            compat = measure(ws, "compat", markets)
        strict = {w: measure(ws, "strict", markets, w) for w in ("1", "auto")}
    print(f"{args.markets} markets at scale {args.scale}: {rows} seller rows of {args.features} features; "
          f"download {download_seconds:.1f} s")
    for w, r in strict.items():
        print(f"this evaluator, 5 files x 5 trials, workers={w:<4}: {r['seconds']:6.1f} s, peak {r['peak_mib']:6.0f} MiB "
              f"({r['fits']})")
    if args.no_original:
        return
    print(f"original procedure, 1 file x 10 trials: {original['seconds']:7.1f} s, peak {original['peak_mib']:6.0f} MiB")
    print(f"this evaluator, compat, same file:      {compat['seconds']:7.1f} s, peak {compat['peak_mib']:6.0f} MiB, "
          f"{original['seconds'] / compat['seconds']:.1f}x faster ({compat['fits']})")
    identical = all(abs(compat["scores"][k] - original["scores"][k]) < 1e-12 for k in original["scores"])
    print(f"compat scores identical to the original procedure: {identical}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
