"""The download task: write every market, from the embedded generator or the official release.

source: embedded  generates data.markets at data.scale (1 = the official sizes) with data.features-d rows,
                  offline and seeded: the buyer-visible files into market_folder, the sellers' data into
                  seller_folder (see data.py for the layout).
source: official  fetches marketinfo.zip (data.official.marketinfo, checked against its sha256) into
                  market_folder.  The sellers' data was never published; organisers who hold it set
                  data.official.features to an archive with <k>/<i>.csv, which goes into seller_folder.
"""
from __future__ import annotations

import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np

from common.closed.seeds import generator_seed

from common.core.errors import DataPerfError, display_path
from common.core.io import write_bytes_atomic, write_json, write_text
from common.core.progress import tracked
from common.data import croissant
from common.data.download import extract_archive, fetch, find_folder_with

from . import config
from .croissant import croissant_datasets
from .data import (SAMPLE_ROWS, format_number, market_files, summarize_seller, summary_json,
                   write_matrix_csv, write_samples)
from .generator import generate_market
from .model import frozen_model


def download(parameters_file: Path, market_folder: Path, seller_folder: Path) -> None:
    params = config.load(parameters_file)
    markets = params.get("data.markets")
    if params.get("data.source") == "embedded":
        for market in tracked(markets, "download: markets"):
            write_market(Path(market_folder), Path(seller_folder), market, params.get("data.scale"),
                         params.get("data.features"), generator_seed(params))
    else:
        fetch_official(params, Path(market_folder), Path(seller_folder), markets)
    missing = [str(p) for m in markets for f in [market_files(market_folder, seller_folder, m)]
               for p in (f.budget, f.prices, f.seller_ids, f.buyer, f.summary(0)) if not p.is_file()]
    if missing:
        raise DataPerfError("the market data is incomplete after download; missing: " + ", ".join(missing))
    print(f"data: {market_folder} (what the buyer sees) and {seller_folder} (the sellers' data, evaluator only)")
    for folder, dataset in croissant_datasets(params, Path(market_folder), Path(seller_folder)):
        print(f"croissant: {croissant.write(folder, dataset)}")


def write_market(market_folder: Path, seller_folder: Path, market: int, scale: float, features: int, seed: int) -> None:
    files = market_files(market_folder, seller_folder, market)
    profiles = []
    for item in generate_market(market, scale, features, seed):
        if item[0] == "buyer":
            write_matrix_csv(files.buyer, item[1], item[2])
        elif item[0] == "seller":
            _, seller, x, y, profile = item
            write_matrix_csv(files.seller(seller), x, y)
            write_text(files.summary(seller), summary_json(summarize_seller(x, y)), keep_previous=False)
            picks = np.random.default_rng([seed, market, seller]).choice(len(y), size=min(SAMPLE_ROWS, len(y)),
                                                                         replace=False)
            write_samples(files.samples(seller), np.column_stack([x[picks], y[picks]]))
            profiles.append({"seller": seller, **profile})
        else:
            info = item[1]
            write_text(files.budget, format_number(info["budget"]) + "\n", keep_previous=False)
            write_text(files.prices, "".join(f"Lin,{format_number(p)}\n" for p in info["max_prices"]),
                       keep_previous=False)
            write_text(files.seller_ids, "".join(f"{i}\n" for i in range(len(info["max_prices"]))), keep_previous=False)
            write_bytes_atomic(files.model, pickle.dumps(frozen_model()), keep_previous=False)
            # The generator's truth about each seller: for analysis only, never shown to buyers.
            write_json(files.hidden / "sellers.json", {"buyer_topics": info["buyer_topics"], "sellers": profiles},
                       keep_previous=False)
    sizes = [p["rows"] for p in profiles]
    print(f"download: generated market {market}: {len(profiles)} sellers of {min(sizes)}-{max(sizes)} rows, "
          f"budget {format_number(info['budget'])}")


def _fetch_into(source: dict, cache: Path, name: str, marker: list[str], target: Path, markets: list[int]) -> None:
    archive = fetch(source["url"], source["sha256"], cache, name)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".extract-") as staging:
        root = extract_archive(archive, Path(staging))
        top = find_folder_with(root, marker)
        if top is None:
            raise DataPerfError(f"{display_path(archive)}: no folder with {', '.join(marker)} in the archive")
        for market in markets:
            destination = target / str(market)
            if destination.exists():
                shutil.rmtree(destination)
            shutil.move(str(top / str(market)), destination)
    print(f"download: extracted {archive.name} into {target}")


def fetch_official(params, market_folder: Path, seller_folder: Path, markets: list[int]) -> None:
    _fetch_into(params.get("data.official.marketinfo"), market_folder / ".download", "marketinfo.zip",
                [f"{m}/price/budget.txt" for m in markets], market_folder, markets)
    features = params.get("data.official.features")
    if features["url"]:
        _fetch_into(features, seller_folder / ".download", "features.zip", [f"{m}/0.csv" for m in markets],
                    seller_folder, markets)
    else:
        print("download: the sellers' data is not public (data.official.features is empty): create_baselines "
              "works, evaluate needs <seller_folder>/<k>/<i>.csv from the organisers")


# ------------------------------------------------------------------ Croissant metadata
