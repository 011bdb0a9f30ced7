"""Building blocks for the embedded (synthetic) data sets of every cube.

Real embeddings come from a network applied to images, clips or text; what matters for
these benchmarks is their geometry: a low-dimensional structure of concepts and
sub-concepts, seen through a high-dimensional, noisy, mostly non-negative feature map.
"""
from __future__ import annotations

import numpy as np


def random_ids(rng: np.random.Generator, n: int, hex_chars: int = 16) -> list[str]:
    """n distinct lowercase hex identifiers (Open Images style)."""
    ids: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        for value in rng.integers(0, 16, size=(n - len(out), hex_chars)):
            text = "".join("0123456789abcdef"[v] for v in value)
            if text not in ids:
                ids.add(text)
                out.append(text)
    return out


class LatentSpace:
    """A fixed random map from latent points to embeddings: relu(z W + b + noise)."""

    def __init__(self, rng: np.random.Generator, latent_dim: int, dim: int, noise: float = 0.5,
                 offset: float = 0.5, nonnegative: bool = True):
        self.latent_dim = latent_dim
        self.dim = dim
        self.weights = rng.normal(size=(latent_dim, dim)) / np.sqrt(latent_dim)
        self.bias = offset + 0.1 * rng.normal(size=dim)
        self.noise = noise
        self.nonnegative = nonnegative

    def embed(self, rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
        x = z @ self.weights + self.bias + self.noise * rng.normal(size=(z.shape[0], self.dim))
        if self.nonnegative:
            x = np.maximum(x, 0.0)
        return x.astype(np.float32)


def cluster_centers(rng: np.random.Generator, n: int, latent_dim: int, radius: float) -> np.ndarray:
    """n random centres at distance `radius` from the origin."""
    c = rng.normal(size=(n, latent_dim))
    return radius * c / np.linalg.norm(c, axis=1, keepdims=True)


def sample_mixture(rng: np.random.Generator, n: int, centers: np.ndarray, weights: np.ndarray,
                   spread: float) -> tuple[np.ndarray, np.ndarray]:
    """n latent points from an isotropic Gaussian mixture; returns (points, component index)."""
    weights = np.asarray(weights, dtype=float)
    component = rng.choice(len(centers), size=n, p=weights / weights.sum())
    points = centers[component] + spread * rng.normal(size=(n, centers.shape[1]))
    return points, component
