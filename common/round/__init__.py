"""The round server: a self-hosted submission server with live leaderboards for a DataPerf round.

    dataperf round init ROUND_DIR --cube CUBE[=PARAMETERS_FILE]     round.yaml, the database, hidden data
    dataperf round team add ROUND_DIR NAME                            a team and its token (printed once)
    dataperf round serve ROUND_DIR                                    pages and the JSON API
    dataperf round worker ROUND_DIR [--once]                          scores what is queued
    dataperf round close ROUND_DIR / export ROUND_DIR OUT             the private board; the round's record
    dataperf submit / status --server URL --token TOKEN ...           the participants' client

Modules: config (round.yaml), db (tables, engines, migrations), queue (leases and fencing), storage (uploads and
content-addressed files), cubes (the only module that reaches a cube, through the cube contract), worker, boards,
ranks (rank groups of the boards), security, server (what the API and the pages share), app (FastAPI), api, pages,
export, cli and client.  Nothing here is imported by `dataperf --help`.

The top layer of common/: it may import any other package of common/ (tasks, results, closed, ...), and none of
them imports it; it names no cube (tests/common/test_layers.py).
"""
