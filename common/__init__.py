"""Shared library of the DataPerf suite: I/O, downloads, validation, metrics, plots, entrypoint."""
