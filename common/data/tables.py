"""Parquet tables of the data sets: written atomically, read column by column, list columns as matrices."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.core.errors import ValidationError
from common.core.io import write_bytes_atomic
from common.untrusted.files import DATA_LIMIT, open_supplied


def write_parquet(path: str | Path, columns: dict[str, Any]) -> Path:
    """Write columns to parquet atomically; 2-D float arrays become list<float32> columns."""
    arrays = {}
    for name, values in columns.items():
        if isinstance(values, pa.Array):
            arrays[name] = values
        elif isinstance(values, np.ndarray) and values.ndim == 2:
            flat = pa.array(np.ascontiguousarray(values).ravel())
            arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1]).cast(
                pa.list_(flat.type))
        else:
            arrays[name] = pa.array(values)
    table = pa.table(arrays)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return write_bytes_atomic(path, sink.getvalue().to_pybytes(), keep_previous=False)


def read_parquet(path: str | Path, columns: list[str], limit: int = DATA_LIMIT) -> pa.Table:
    """The columns asked for of a parquet file, read through open_supplied (no link, no FIFO, at most `limit`)."""
    path = Path(path)
    try:
        with open_supplied(path, limit, single_link=False) as handle, pq.ParquetFile(handle) as parquet:
            names = parquet.schema_arrow.names
            missing = [c for c in columns if c not in names]
            if missing:
                raise ValidationError(path, f"columns {missing}", f"required columns missing (has {names})")
            # Only the columns asked for are decoded.
            return parquet.read(columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationError(path, None, f"not a readable parquet file ({exc})") from None


def matrix_column(table: pa.Table, name: str, path: str | Path, dtype=np.float32, copy: bool = True) -> np.ndarray:
    """A list-of-floats column as an (N, D) array, checking every row has the same length.  copy=False may
    return a read-only view of the table's memory (for a caller that only reads it)."""
    column = table.column(name).combine_chunks()
    if len(column) == 0:
        return np.zeros((0, 0), dtype=dtype)
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
        values = column.flatten()
    elif pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        lengths = column.value_lengths().to_numpy(zero_copy_only=False)
        width = int(lengths[0])
        if column.null_count or np.any(lengths != width):
            bad = int(np.argmax(lengths != width)) if np.any(lengths != width) else 0
            raise ValidationError(path, f"row {bad} of column '{name}'",
                                  f"every row must hold {width} numbers")
        values = column.flatten()
    else:
        raise ValidationError(path, f"column '{name}'", f"must be a list of numbers, found {column.type}")
    values = values.to_numpy(zero_copy_only=False)
    array = np.array(values, dtype=dtype) if copy else np.asarray(values, dtype=dtype)
    if array.size != len(column) * width:
        raise ValidationError(path, f"column '{name}'", "null values are not allowed")
    return array.reshape(len(column), width)
