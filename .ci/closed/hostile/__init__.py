"""Hostile closed-division algorithms for CI: each tries one way out of the sandbox or one way to break a round.

Probes (checks.py) print `CONTAINED <probe>: ...` and then rank honestly when the sandbox held, and exit with code
99 after printing `BREACH <probe>: ...` when it did not; the others misbehave on purpose.  Never a packet to any
address outside loopback: the network probe resolves a name only after it found no interface but loopback and no
route.
"""
