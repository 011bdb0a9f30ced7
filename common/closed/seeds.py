"""Round seeds: the embedded generators take their own seed, so a closed round's data cannot be regenerated.

The generators are public code: whoever knows the seed they ran with can regenerate the test labels.  So the data
has its own seed, `data.seed`, kept from the participants' containers (they see only `closed.seed`, the algorithm's
seed).  Unset (null) it is the public `seed`: the embedded demo data everyone has, fine for practice, not for a
round.  A round's seed must be unguessable: `dataperf closed-seed` makes a 128-bit one.
"""
from __future__ import annotations

import secrets

MIN_ROUND_SEED = 2**64            # smaller explicit seeds are refused in a closed round (guessable)
MAX_SEED = 2**256 - 1
ROUND_SEED_BITS = 128


def generator_seed(params) -> int:
    """The seed the embedded generator runs with: data.seed when set, else the public seed."""
    value = params.get("data.seed")
    if value is None:
        return params.get("seed")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise params.fail("data.seed", "must be null (the public seed) or a whole number from 0 to 2^256 - 1 "
                          "(a round's secret seed: `dataperf closed-seed` makes one)")
    return value


def croissant_seed(params) -> int | str:
    """The seed a Croissant file records: the public seed, never a round's secret data.seed."""
    return params.get("seed") if params.get("data.seed") is None else "secret (the round's data.seed)"


def new_round_seed() -> int:
    """A fresh 128-bit round seed (top bit set, so it is never mistaken for a small one)."""
    return secrets.randbits(ROUND_SEED_BITS - 1) | (1 << (ROUND_SEED_BITS - 1))


def round_data(params) -> str:
    """What data a round runs on: 'hidden' (embedded, secret data.seed), 'official' (organiser-supplied files) or
    'public' (embedded with the public seed: practice only).  A guessable explicit data.seed is refused."""
    seed = generator_seed(params)
    if params.get("data.source") == "official":
        return "official"
    if params.get("data.seed") is None:
        return "public"
    if seed < MIN_ROUND_SEED:
        raise params.fail("data.seed", f"is guessable (a {seed.bit_length()}-bit number): a closed round needs an "
                          f"unguessable seed of at least 64 bits; `dataperf closed-seed` makes a 128-bit one")
    return "hidden"
