"""Where parallel jobs run: local processes (parallel.py) or a Dask cluster (dask_cluster.py), chosen by the
parameters' `compute` section (backend.py).  backend.py defines the choice; dask_cluster.py implements the Dask
side and imports backend, never the other way round.

May import: common.core, common.untrusted, common.parameters, common.data."""
