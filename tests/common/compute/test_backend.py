"""common.compute.backend without a cluster: the compute parameters, the hook into every cube's parameters, errors that
cross processes, the aligned transport of arrays, the worker-side pinning and code identity."""
from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
import yaml

from common.compute import backend as compute
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError, ValidationError, ValidationErrors


@pytest.mark.parametrize("scheduler", ["processes", "local-cluster", "tcp://127.0.0.1:8786", "tcp://dask-head:8786",
                                       "tcp://scheduler.example.org:1", "tcp://[::1]:8786"])
def test_accepted_schedulers(scheduler):
    assert compute.check({"scheduler": scheduler}).scheduler == scheduler


@pytest.mark.parametrize("scheduler", ["", "local", "127.0.0.1:8786", "tcp://host", "tcp://host:0", "tcp://host:70000",
                                       "http://host:8786", "tcp://ho st:1", "tcp://host:1/x", "tcp://-x:1", 8786])
def test_refused_schedulers_name_the_parameter(scheduler):
    with pytest.raises(ValidationError, match=r"p.yaml: parameter 'compute.scheduler': must be 'processes', "
                                              r"'local-cluster' or the address of a Dask scheduler"):
        compute.check({"scheduler": scheduler}, "p.yaml")


@pytest.mark.parametrize("timeout", [0, 0.5, 3601, True, "30"])
def test_refused_timeouts(timeout):
    with pytest.raises(ValidationError, match="parameter 'compute.timeout': must be a number of seconds"):
        compute.check({"timeout": timeout})


@pytest.mark.parametrize("cube", ["vision_debugging", "speech_selection", "vision_selection", "data_acquisition"])
def test_every_cube_has_the_compute_section_and_loading_it_changes_nothing_else(cube, tmp_path):
    """The section is read from the loaded parameters (compute.of) and passed to what runs jobs: loading a file
    never switches a process-wide scheduler."""
    import importlib
    config = importlib.import_module(f"{cube}.config")
    shipped = yaml.safe_load((importlib.resources.files(cube) / "workspace" / "parameters.yaml").read_text())
    assert shipped["compute"] == {"scheduler": "processes", "timeout": 30} and config.DEFAULTS["compute"] == compute.DEFAULTS
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"compute": {"scheduler": "tcp://127.0.0.1:9", "timeout": 5}}))
    params = config.load(tmp_path / "p.yaml")
    assert compute.of(params) == compute.Compute("tcp://127.0.0.1:9", 5.0) and compute.of(params).uses_dask
    assert compute.of(config.load(_write(tmp_path / "q.yaml", {}))) == compute.Compute()
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"compute": {"scheduler": "tcp://nowhere"}}))
    with pytest.raises(ValidationError, match="parameter 'compute.scheduler'"):
        config.load(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text("{}")
    assert compute.of(config.load(tmp_path / "p.yaml")) == compute.Compute()   # without the section: the default


def _write(path, values):
    path.write_text(yaml.safe_dump(values))
    return path


def test_errors_survive_pickling_with_their_message_and_parts():
    one = ValidationError("sub/a.txt", "line 3", "not a whole number")
    for error in (DataPerfError("plain"), one, ValidationErrors([one, ValidationError(None, None, "empty")])):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
    again = pickle.loads(pickle.dumps(one))
    assert (again.file, again.item, again.rule) == ("sub/a.txt", "line 3", "not a whole number")


def test_a_validation_error_in_a_local_worker_process_reaches_the_caller():
    from support.compute_jobs import refuse
    with pytest.raises(ValidationError, match=r"^submissions/x.txt: line 3: not a whole number$"):
        parallel_map(refuse, range(6), workers=2)


def test_local_worker_processes_pin_blas_and_torch_to_one_thread():
    from support.compute_jobs import threads
    for pools in parallel_map(threads, range(2), workers=2):
        assert set(pools.values()) == {1}, pools


def test_aligned_transport_copies_each_buffer_to_aligned_writable_memory():
    from common.compute.dask_cluster import Aligned
    x = np.arange(40, dtype=np.float64).reshape(5, 8)
    value = {"x": x, "f": np.asfortranarray(x), "odd": x[:, ::3], "n": 7, "ids": ["a", "b"]}
    buffers = []
    data = pickle.dumps(Aligned(value), protocol=5, buffer_callback=buffers.append)
    # Received the way Dask hands buffers over: slices of one block, at an odd offset.
    block = bytearray(1 + sum(b.raw().nbytes for b in buffers))
    views, at = [], 1
    for b in buffers:
        n = b.raw().nbytes
        block[at:at + n] = b.raw()
        views.append(memoryview(block)[at:at + n])
        at += n
    assert np.frombuffer(views[0], np.float64, count=1).flags.aligned is False
    again = pickle.loads(data, buffers=views).value
    for key in ("x", "f", "odd"):   # "odd" is not contiguous: pickled in the stream itself, a copy as well
        np.testing.assert_array_equal(again[key], value[key])
        assert again[key].flags.aligned and again[key].flags.writeable
    assert again["x"].ctypes.data % 64 == 0 and again["f"].ctypes.data % 64 == 0
    assert again["f"].flags.f_contiguous and again["n"] == 7 and again["ids"] == ["a", "b"]
    block[1:9] = b"\0" * 8   # a copy: the received block can go
    assert again["x"][0, 0] == 0 and again["x"][0, 1] == 1


def test_pinning_is_cheap_when_nothing_new_was_imported():
    from common.compute.dask_cluster import pin_threads
    pin_threads()
    started = time.perf_counter()
    for _ in range(1000):
        pin_threads()
    assert time.perf_counter() - started < 0.05


def test_code_identity_covers_versions_and_the_source_of_the_cube_that_runs():
    from common.compute.dask_cluster import code_identity
    both = code_identity(("common", "vision_debugging"))
    assert both["numpy"] == np.__version__ and both["dask"] and both["distributed"]
    assert both != code_identity(("common",)) and both == code_identity(("common", "vision_debugging"))
    assert len(both["source of common+vision_debugging"]) == 16


def test_jobs_go_in_chunks_of_about_eight_tasks_per_worker():
    from common.compute.dask_cluster import chunk_size
    assert chunk_size(10, 2) == 1 and chunk_size(160, 2) == 10 and chunk_size(72_000, 512) == 17
    assert chunk_size(5, 0) == 1


def test_a_task_refuses_to_run_on_other_code():
    from common.compute.dask_cluster import Aligned, code_identity, run_chunk
    from support.compute_jobs import slow_identity
    right = {"packages": ("common",), "identity": code_identity(("common",))}
    assert run_chunk(slow_identity, Aligned([1, 2]), None, right).value == [1, 2]
    wrong = {"packages": ("common",), "identity": {**right["identity"], "numpy": "0.0"}}
    with pytest.raises(DataPerfError, match="runs other code than the evaluating process"):
        run_chunk(slow_identity, Aligned([1]), None, wrong)
