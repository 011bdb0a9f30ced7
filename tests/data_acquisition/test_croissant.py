"""data_acquisition's Croissant files: marketinfo/ and features/ apart, valid, read back equal to the readers."""
from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np

from data_acquisition import config
from data_acquisition.data import (market_files, read_budget, read_prices, read_samples, read_summary)
from data_acquisition.croissant import croissant_datasets
from data_acquisition.download import download

from support.croissant import QUIET, by_file, check_written, records
from support.data_acquisition import TINY, generated_workspace, write_parameters

pytestmark = QUIET


def _check(ws, summaries=True):
    """Every Croissant file as written; the market record sets equal to the cube's readers (the summaries and
    samples only when asked: mlcroissant builds a JSONPath parser per file and path, 20 ms each)."""
    params = config.load(ws / "parameters.yaml")
    pairs = croissant_datasets(params, ws / "marketinfo", ws / "features")
    dataset = check_written(*pairs[0])
    for folder, description in pairs[1:]:
        check_written(folder, description)
    budgets = {r["market"]: r["budget"] for r in records(dataset, "budgets")}
    prices = by_file(records(dataset, "prices"), "market")
    for market in params.get("data.markets"):
        files = market_files(ws / "marketinfo", None, market)
        assert budgets[market] == float(read_budget(files.budget))
        assert [(r["seller"], r["max_price"]) for r in prices[market]] == \
            [(i, float(p)) for i, p in enumerate(read_prices(files.prices))]
    if not summaries:
        return [json.loads((folder / "croissant.json").read_text()) for folder, _ in pairs]
    summaries = by_file(records(dataset, "summaries"), "market")
    samples = by_file(records(dataset, "samples"), "market")
    for market in params.get("data.markets"):
        files = market_files(ws / "marketinfo", None, market)
        by_seller = {r["seller"]: r for r in summaries[market]}
        assert len(by_seller) == 20
        for seller, row in by_seller.items():
            summary = read_summary(files.summary(seller))
            assert (row["row_number"], row["column_number"]) == (summary["row_number"], summary["column_number"])
        rows = [r for r in samples[market] if r["seller"] == 7]
        assert np.array_equal(np.array([r["values"] for r in rows]), read_samples(files.samples(7)))
    return [json.loads((folder / "croissant.json").read_text()) for folder, _ in pairs]


def test_embedded_download_describes_what_buyers_see_apart_from_the_sellers_data(tmp_path):
    ws = generated_workspace(tmp_path / "ws")
    visible, hidden = _check(ws)
    urls = [e["contentUrl"] for e in visible["distribution"] if "contentUrl" in e]
    assert "0/data_buyer/20.csv" in urls and not any(u.endswith("sellers.json") for u in urls)
    assert len(urls) == 2 * (5 + 2 * 20)
    hidden_files = [e for e in hidden["distribution"] if "contentUrl" in e]
    assert {e["contentUrl"] for e in hidden_files} == {f"{m}/{i}.csv" for m in (0, 1) for i in range(20)} | \
        {"0/sellers.json", "1/sellers.json"}
    assert all(e["description"].startswith("Evaluator only") for e in hidden_files)
    samples = next(r for r in visible["recordSet"] if r["name"] == "samples")
    assert next(f for f in samples["field"] if f["name"] == "values")["cr:arrayShape"] == "17"   # 16 features, label


def test_official_download_with_and_without_the_sellers_data(tmp_path, http_folder):
    root, url = http_folder
    src = generated_workspace(tmp_path / "src")
    (src / "marketinfo" / "0" / "README.txt").write_text("not data\n")
    archives = {}
    for name in ("marketinfo", "features"):
        archive = root / f"{name}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for path in sorted((src / name).rglob("*")):
                if path.name != "croissant.json":
                    zf.write(path, path.relative_to(src))
        archives[name] = {"url": f"{url}/{archive.name}", "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}
    ws = tmp_path / "ws"
    values = {"data": {"source": "official", "markets": TINY["data"]["markets"],
                       "official": {"marketinfo": archives["marketinfo"]}}}
    download(write_parameters(ws, values), ws / "marketinfo", ws / "features")
    (visible,) = _check(ws, summaries=False)
    assert not (ws / "features" / "croissant.json").exists()   # no sellers' data, nothing to describe
    readme = next(e for e in visible["distribution"] if e.get("contentUrl") == "0/README.txt")
    assert readme["description"] == "Market 0: part of the official archive, not read by this suite."
    assert visible["license"] == "https://www.apache.org/licenses/LICENSE-2.0"
    values["data"]["official"] = archives
    download(write_parameters(ws, values), ws / "marketinfo", ws / "features")
    visible, hidden = _check(ws, summaries=False)
    assert f"{archives['features']['url']} (sha256 {archives['features']['sha256']})" in hidden["rai:dataCollection"]
