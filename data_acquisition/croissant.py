"""The Croissant metadata of what data_acquisition's download writes (common/data/croissant.py renders and checks it)."""
from __future__ import annotations

import re
from pathlib import Path

from common.closed.seeds import croissant_seed
from common.data import croissant

from .data import BUYER_ID, market_files, read_prices

CITATION = """@article{chen2023dataacquisition,
  title = {Data Acquisition: A New Frontier in Data-centric {AI}},
  author = {Chen, L. and Acun, B. and Ardalani, N. and Sun, Y. and Kang, F. and Lyu, H. and Kwon, Y. and Jia, R. and Wu, C.-J. and Zaharia, M. and Zou, J.},
  journal = {arXiv preprint arXiv:2311.13712},
  year = {2023}
}"""


MATRIX = "no header, one row per line: the features (floats) then the integer label, comma-separated"

SUMMARY = ("DataPerf data acquisition: in each of 5 data markets, 20 sellers offer datasets of text embeddings with a "
           "binary label at linear prices; the buyer decides how many rows to buy from each within the market's "
           "budget, seeing only summaries of the sellers' data and its own data.")


URL = "https://github.com/facebookresearch/Data_Acquisition_for_ML_Benchmark"


def _market_files(folder: Path, markets: list[int], embedded: bool, names) -> list[str]:
    """The files of each market folder: the ones the generator wrote, or everything an archive put there."""
    if not embedded:
        return [p for m in markets for p in croissant.files_under(folder, str(m))]
    return [f"{m}/{name}" for m in markets for name in names(m)]


def croissant_datasets(params, market_folder: Path, seller_folder: Path) -> list[tuple[Path, croissant.Dataset]]:
    """marketinfo/ (what a buyer sees, the official marketinfo.zip layout) and features/ (the sellers' data, which
    mlcube mounts for evaluate alone) are described separately; features/ only when it holds data."""
    markets = params.get("data.markets")
    embedded = params.get("data.source") == "embedded"
    sellers = {m: len(read_prices(market_files(market_folder, None, m).prices)) for m in markets}
    visible = _market_files(market_folder, markets, embedded, lambda m: [
        "price/budget.txt", "price/price.txt", "sellerid.txt", f"data_buyer/{BUYER_ID}.csv", "data_buyer/mlmodel.pickle",
        *[f"summary/{i}.{kind}" for i in range(sellers[m]) for kind in ("csv.json", "csvsamples.csv")]])
    hidden = _market_files(seller_folder, markets, embedded, lambda m: [
        *[f"{i}.csv" for i in range(sellers[m])], "sellers.json"])
    hidden = [p for p in hidden if (seller_folder / p).is_file()]
    features = params.get("data.features") if embedded else None

    def what(path: str) -> str:
        market, _, rest = path.partition("/")
        known = {"price/budget.txt": "the budget (one number)",
                 "price/price.txt": "one line per seller, 'Lin,<max_p>': buying n of N rows costs max_p * n / N",
                 "sellerid.txt": "the seller ids, one per line",
                 f"data_buyer/{BUYER_ID}.csv": f"the buyer's data, on which accuracy is measured ({MATRIX})",
                 "data_buyer/mlmodel.pickle": "the unfitted frozen model (a pickle; never unpickled by this suite)",
                 "sellers.json": "the generator's truth about each seller (topics, noise, balance, duplicates)"}
        if rest in known:
            return f"Market {market}: {known[rest]}."
        name = rest.rsplit("/", 1)[-1]
        seller = name.split(".", 1)[0]
        if rest.endswith(".csv.json"):
            return (f"Market {market}, seller {seller}: summary (row_number, column_number, per-feature 10-bin "
                    "histogram 'hist', Pearson correlation with the label 'label_correlation').")
        if rest.endswith(".csvsamples.csv"):
            return f"Market {market}, seller {seller}: 5 rows, space-separated, the label last."
        if "/" not in rest and seller.isdigit() and rest.endswith(".csv"):
            return f"Market {market}, seller {seller}: the seller's data ({MATRIX})."
        return f"Market {market}: part of the official archive, not read by this suite."

    def files_of(paths: list[str], pattern: str) -> tuple[str, ...]:
        return tuple(p for p in paths if re.fullmatch(pattern, p))

    market = croissant.Column("market", "integer", "Market id, from the path.", file_property="fullpath",
                              regex=r"^([0-9]+)/.*$")
    seller = lambda pattern: croissant.Column("seller", "integer", "Seller id, from the file name.",  # noqa: E731
                                              file_property="filename", regex=pattern)
    tables = (
        croissant.Table(name="budgets", description="Each market's budget.", encoding="text/plain",
                        files=files_of(visible, r"[0-9]+/price/budget\.txt"), columns=(
                            market, croissant.Column("budget", "float", "The budget.", file_property="lines"))),
        croissant.Table(name="prices", description="Each seller's linear price, one row per seller.",
                        encoding="text/plain", files=files_of(visible, r"[0-9]+/price/price\.txt"), columns=(
                            market,
                            croissant.Column("seller", "integer", "Seller id (the line number, from 0).",
                                             file_property="lineNumbers"),
                            croissant.Column("max_price", "float", "max_p, the price of all N rows: mlcroissant reads "
                                             "text lines with a CSV reader, so a 'Lin,<max_p>' line yields max_p.",
                                             file_property="lines"))),
        croissant.Table(name="summaries", description="Each seller's summary, one row per seller.",
                        encoding="application/json", files=files_of(visible, r"[0-9]+/summary/[0-9]+\.csv\.json"),
                        columns=(market, seller(r"^([0-9]+)\.csv\.json$"),
                                 croissant.Column("row_number", "integer", "Rows the seller has (N).",
                                                  json_path="$.row_number"),
                                 croissant.Column("column_number", "integer", "Features plus the label.",
                                                  json_path="$.column_number"))),
        croissant.Table(name="samples", description="5 sample rows of each seller, one row per sample.",
                        encoding="text/plain", files=files_of(visible, r"[0-9]+/summary/[0-9]+\.csvsamples\.csv"),
                        columns=(market, seller(r"^([0-9]+)\.csvsamples\.csv$"),
                                 croissant.Column("values", "float", "The features, then the label.",
                                                  file_property="lines", separator=" ",
                                                  shape=str(features + 1) if features else "-1"))))
    if embedded:
        provenance = croissant.generated_by("data_acquisition.generator.generate_market", {
            "seed": croissant_seed(params), "markets": markets, "scale": params.get("data.scale"), "features": features})
        kind, license_, version = "embedded data generated by the dataperf suite with the official layout and " \
            "formats", None, croissant.suite_version()
    else:
        sources = [(params.get("data.official.marketinfo")["url"], market_folder / ".download" / "marketinfo.zip")]
        if hidden:
            sources.append((params.get("data.official.features")["url"], seller_folder / ".download" / "features.zip"))
        provenance = croissant.downloaded_from(sources)
        kind, license_, version = ("the official marketinfo release of the challenge repository (Apache-2.0)",
                                   croissant.APACHE_2, None)
    common = dict(url=URL, cite_as=croissant.DATAPERF_CITATION + "\n" + CITATION, provenance=provenance,
                  synthetic=embedded, license=license_, version=version)
    out = [(market_folder, croissant.Dataset(
        name="dataperf-data-acquisition-marketinfo",
        description=(f"{SUMMARY} This folder (marketinfo/) is what the buyer sees, {kind}: per market the budget, "
                     "the prices, the seller summaries and samples, and the buyer's data. mlcroissant reads every "
                     "CSV with its first line as the header, so the header-less data files are described as files "
                     "(format in their description), not as record sets."),
        files={p: what(p) for p in visible}, tables=tables, **common))]
    if hidden:
        out.append((seller_folder, croissant.Dataset(
            name="dataperf-data-acquisition-sellers",
            description=(f"{SUMMARY} This folder (features/) holds the sellers' data, which only the evaluator reads "
                         "(mlcube mounts it for evaluate alone)."),
            files={p: what(p) for p in hidden}, evaluator_only=frozenset(hidden), **common)))
    return out
