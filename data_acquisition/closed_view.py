"""What a closed-division container of this cube may see: per market, what the official marketinfo/ holds (never
the sellers' rows)."""
from __future__ import annotations

from pathlib import Path

KEYS = ["data.markets"]


def permitted(params, folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(name inside the view's data folder, source file) of every file shown, and the parameter keys shown."""
    from .data import market_files, read_seller_ids
    files = []
    for market in params.get("data.markets"):
        paths = market_files(folder, None, market)
        sellers = sorted(read_seller_ids(paths.seller_ids))
        files += [paths.budget, paths.prices, paths.seller_ids, paths.buyer]
        files += [paths.model] if paths.model.exists() else []
        files += [f(i) for i in sellers for f in (paths.summary, paths.samples)]
    return [(path.relative_to(folder).as_posix(), path) for path in files], KEYS
