"""The embedded data: five markets of 20 sellers and one buyer, generated offline and seeded.

Text embeddings are modelled as a low-dimensional latent space of topics seen through a fixed random
768-d linear map with noise (signed values of DistilBERT's magnitude).  The label (binary) depends on the
topic: each topic has its own, related, class direction, so data from other topics teaches a different
boundary.  The buyer's data covers two or three topics.  Sellers differ the way real ones do, each trait
drawn independently so that price does not follow quality:
  topics         matched to the buyer, partly matched, or shifted to other topics (covariate shift)
  label noise    0 to 45% of labels flipped
  class balance  from balanced to 8% positives
  duplicates     up to 85% of the rows are copies of other rows
  size           30,000 rows or fewer (scaled by data.scale)
  max price      log-normal around 100, independent of all of the above
Two sellers per market are made good (matched, clean, balanced, no duplicates) so that there is something
worth finding.  The budget is 4-8% of the market's total full price (about one seller's data).
"""
from __future__ import annotations

import math
import zlib

import numpy as np

from common.data import synth

from .data import SELLERS

LATENT_DIM = 16
TOPICS = 6
FULL_ROWS = 30_000          # the official seller size cap
BUYER_ROWS = 3_000          # the official buyer accuracy is a multiple of 1/3000
MIN_BUYER_ROWS = 600
MIN_SELLER_ROWS = 20
TOPIC_RADIUS, TILT, MARGIN, SPREAD = 2.5, 0.8, 1.0, 1.0
FEATURE_SCALE, FEATURE_NOISE = 0.15, 0.8
DECIMALS = 4                # the files hold 4-decimal values, like the official example histogram edges' data

NOISE_LEVELS = (0.0, 0.0, 0.05, 0.1, 0.2, 0.35, 0.45)
POSITIVE_SHARES = (0.5, 0.5, 0.5, 0.35, 0.2, 0.08)
DUPLICATE_SHARES = (0.0, 0.0, 0.0, 0.5, 0.85)
SHIFTS = ("matched", "partial", "shifted", "shifted")


def market_rng(seed: int, market: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(b"data-acquisition"), market])


def seller_size(rng: np.random.Generator, scale: float) -> int:
    full = FULL_ROWS if rng.random() < 0.75 else int(rng.integers(10_000, FULL_ROWS))
    return max(MIN_SELLER_ROWS, int(round(full * scale)))


class MarketWorld:
    """The latent topics, class directions and feature map of one market."""

    def __init__(self, rng: np.random.Generator, features: int):
        self.space = synth.LatentSpace(rng, LATENT_DIM, features, noise=FEATURE_NOISE, offset=0.0, nonnegative=False)
        self.centers = synth.cluster_centers(rng, TOPICS, LATENT_DIM, TOPIC_RADIUS)
        shared = rng.normal(size=LATENT_DIM)
        tilted = shared / np.linalg.norm(shared) + TILT * rng.normal(size=(TOPICS, LATENT_DIM)) / math.sqrt(LATENT_DIM)
        self.directions = tilted / np.linalg.norm(tilted, axis=1, keepdims=True)

    def draw(self, rng: np.random.Generator, n: int, topic_weights: np.ndarray, positive_share: float):
        """n rows: (features rounded to DECIMALS, clean labels)."""
        topic = rng.choice(TOPICS, size=n, p=topic_weights / topic_weights.sum())
        y = (rng.random(n) < positive_share).astype(np.int64)
        sign = 2.0 * y - 1.0
        z = self.centers[topic] + MARGIN * sign[:, None] * self.directions[topic] \
            + SPREAD * rng.normal(size=(n, LATENT_DIM))
        x = FEATURE_SCALE * self.space.embed(rng, z).astype(np.float64)
        return np.round(x, DECIMALS), y


def buyer_topics(rng: np.random.Generator) -> np.ndarray:
    weights = np.zeros(TOPICS)
    chosen = rng.choice(TOPICS, size=int(rng.integers(2, 4)), replace=False)
    weights[chosen] = rng.dirichlet(np.full(len(chosen), 3.0))
    return weights


def seller_topics(rng: np.random.Generator, shift: str, buyer: np.ndarray) -> np.ndarray:
    others = np.where(buyer == 0)[0]
    away = np.zeros(TOPICS)
    away[rng.choice(others, size=min(2, len(others)), replace=False)] = 1.0
    away /= away.sum()
    if shift == "matched":
        return buyer.copy()
    if shift == "partial":
        return 0.5 * buyer + 0.5 * away
    return away


def seller_profiles(rng: np.random.Generator, scale: float) -> list[dict]:
    profiles = []
    for _ in range(SELLERS):
        profiles.append({
            "shift": str(rng.choice(SHIFTS)),
            "label_noise": float(rng.choice(NOISE_LEVELS)),
            "positive_share": float(rng.choice(POSITIVE_SHARES)),
            "duplicate_share": float(rng.choice(DUPLICATE_SHARES)),
            "rows": seller_size(rng, scale),
            "max_price": round(float(100 * np.exp(0.5 * rng.normal())), 2),
        })
    for i in rng.choice(SELLERS, size=2, replace=False):
        profiles[i].update(shift="matched", label_noise=0.0, positive_share=0.5, duplicate_share=0.0)
    return profiles


def seller_rows(world: MarketWorld, rng: np.random.Generator, profile: dict, topics: np.ndarray):
    """The seller's data: unique rows with flipped labels, then copies of some of them, shuffled."""
    n = profile["rows"]
    unique = max(1, int(math.ceil(n * (1.0 - profile["duplicate_share"]))))
    x, y = world.draw(rng, unique, topics, profile["positive_share"])
    flip = rng.random(unique) < profile["label_noise"]
    y = np.where(flip, 1 - y, y)
    rows = np.concatenate([np.arange(unique), rng.integers(0, unique, size=n - unique)])
    rows = rows[rng.permutation(n)]
    return x[rows], y[rows]


def generate_market(market: int, scale: float, features: int, seed: int):
    """Yields ("buyer", x, y), then ("seller", i, x, y, profile) per seller; finally ("market", info).

    A generator so that a large market is never held in memory at once.
    """
    rng = market_rng(seed, market)
    world = MarketWorld(rng, features)
    buyer = buyer_topics(rng)
    profiles = seller_profiles(rng, scale)
    x, y = world.draw(rng, max(MIN_BUYER_ROWS, int(round(BUYER_ROWS * scale))), buyer, 0.5)
    yield ("buyer", x, y)
    for i, profile in enumerate(profiles):
        topics = seller_topics(rng, profile["shift"], buyer)
        x, y = seller_rows(world, rng, profile, topics)
        yield ("seller", i, x, y, {**profile, "topics": topics.round(3).tolist()})
    total = sum(p["max_price"] for p in profiles)
    budget = round(float(total * rng.uniform(0.04, 0.08)), 2)
    yield ("market", {"budget": budget, "max_prices": [p["max_price"] for p in profiles],
                      "buyer_topics": buyer.round(3).tolist()})
