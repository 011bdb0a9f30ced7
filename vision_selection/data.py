"""Data of the vision-selection challenge: the official layout, reading it, and the embedded generator.

Under data/dataperf-vision-selection-resources/ (the official archive's layout):
  embeddings/train_emb_256_dataperf.parquet          the candidate pool: ImageID (16 hex chars), embedding
                                                     (256 doubles); a Spark folder of part files, or one file
  examples/alpha_example_set_<Concept>.csv           20 positives: LabelName,ImageID,Confidence,OriginalURL,DisplayName
  test_sets/alpha_test_set_<Concept>_256.parquet     ImageID, LabelName, Confidence ('0'/'1'), OriginalURL,
                                                     DisplayName, embedding: the evaluator's labelled test set
  machine_labels/train-annotations-machine-imagelabels.csv
                                                     Open Images machine labels (ImageID,Source,LabelName,Confidence)
                                                     for the pool: weak labels participants may use
"""
from __future__ import annotations

import csv
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.core.errors import ValidationError
from common.core.io import write_bytes_atomic, write_text
from common.core.progress import tracked
from common.data import synth
from common.data.tables import matrix_column, read_parquet
from common.untrusted.files import DATA_LIMIT, folder_entries, open_supplied, read_supplied
from common.untrusted.formats import arrow_csv_problem

RESOURCES = "dataperf-vision-selection-resources"
POOL_PATH = "embeddings/train_emb_256_dataperf.parquet"
MACHINE_LABELS_PATH = "machine_labels/train-annotations-machine-imagelabels.csv"
EMBEDDING_DIM = 256
POOL_ROWS = 1_200_000            # the official pool, estimated from its part files (research notes §5.2)
PART_ROWS = 16_500               # rows per Spark part file, as in the official pool
ID_COL, EMB_COL, LABEL_COL = "ImageID", "embedding", "Confidence"

# The 2023 concepts and their Open Images MIDs; other names get a generated MID.
KNOWN_MIDS = {"Cupcake": "/m/03p1r4", "Hawk": "/m/0fp7c", "Sushi": "/m/07030"}
# Test-set size and positive rate of the alpha sets (derived from the official random_500 result).
TEST_SHAPE = {"Cupcake": (137, 0.50), "Hawk": (145, 0.70), "Sushi": (162, 0.66)}
DEFAULT_TEST_SHAPE = (150, 0.6)
# A look-alike concept per concept: the near misses a selection must learn to reject.
LOOK_ALIKES = {"Cupcake": "Muffin", "Hawk": "Eagle", "Sushi": "Sashimi"}


def mid_of(name: str) -> str:
    """The Open Images MID of a concept name: the known one, else a stable generated one."""
    return KNOWN_MIDS.get(name) or f"/m/0{zlib.crc32(name.encode()):08x}"[:10]


def look_alike_of(name: str) -> str:
    return LOOK_ALIKES.get(name, f"{name} look-alike")


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def pool(self) -> Path:
        return self.root / POOL_PATH

    @property
    def machine_labels(self) -> Path:
        return self.root / MACHINE_LABELS_PATH

    def examples(self, concept: str) -> Path:
        return self.root / "examples" / f"alpha_example_set_{concept}.csv"

    def test_set(self, concept: str) -> Path:
        return self.root / "test_sets" / f"alpha_test_set_{concept}_256.parquet"


def layout(data_folder: Path) -> Layout:
    return Layout(Path(data_folder) / RESOURCES)


# ---------------------------------------------------------------- reading

def pool_parts(path: Path) -> list[Path]:
    """The pool's parquet files: the file itself, or the part files of a Spark folder (_SUCCESS, .crc and hidden
    files ignored), in name order.  Nothing is followed: a link among the parts is an error."""
    path = Path(path)
    if not os.path.lexists(path):
        raise ValidationError(path, None, "candidate pool not found (run the download task)")
    if path.is_symlink() or not path.is_dir():
        return [path]
    files, _, others = folder_entries(path)
    if others:
        raise ValidationError(others[0], None, "must be a regular file (the pool's parts are read, not followed)")
    parts = [p for p in files if p.suffix == ".parquet" and not p.name.startswith((".", "_"))]
    if not parts:
        raise ValidationError(path, None, "holds no parquet part files")
    return parts


def _pool_batches(path: Path, columns: list[str], batch_size: int = 65_536):
    """Record batches of the pool's columns, part after part, each part opened through open_supplied."""
    for part in pool_parts(path):
        try:
            with open_supplied(part, DATA_LIMIT, single_link=False) as handle, pq.ParquetFile(handle) as parquet:
                missing = [c for c in columns if c not in parquet.schema_arrow.names]
                if missing:
                    raise ValidationError(part, f"columns {missing}", "required columns missing "
                                                                      f"(has {parquet.schema_arrow.names})")
                yield from parquet.iter_batches(batch_size=batch_size, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValidationError(part, None, f"not a readable parquet file ({type(exc).__name__})") from None


def pool_rows(path: Path) -> int:
    total = 0
    for part in pool_parts(path):
        try:
            with open_supplied(part, DATA_LIMIT, single_link=False) as handle, pq.ParquetFile(handle) as parquet:
                total += parquet.metadata.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValidationError(part, None, f"not a readable parquet file ({type(exc).__name__})") from None
    return total


def read_pool_ids(path: Path) -> pa.Array:
    """Only the ImageID column of the pool (what validation needs), in file order."""
    chunks = [batch.column(0) for batch in _pool_batches(path, [ID_COL])]
    return pa.chunked_array(chunks, pa.string()).combine_chunks() if chunks else pa.array([], pa.string())


def read_pool_rows(path: Path, ids) -> tuple[list[str], np.ndarray]:
    """(ids, float64 embeddings) of the pool rows whose ImageID is in ids, sorted by ImageID.

    Streams the parts batch by batch with a filter, so only the wanted rows are ever kept.
    """
    wanted = pa.array(sorted(set(ids)), pa.string())
    kept = [batch.filter(pc.is_in(batch.column(0), value_set=wanted))
            for batch in _pool_batches(path, [ID_COL, EMB_COL])]
    table = pa.Table.from_batches([b for b in kept if b.num_rows], schema=kept[0].schema) if kept else \
        pa.table({ID_COL: pa.array([], pa.string()), EMB_COL: pa.array([], pa.list_(pa.float32()))})
    table = table.sort_by(ID_COL)
    x = matrix_column(table, EMB_COL, path, dtype=np.float64) if table.num_rows else np.zeros((0, EMBEDDING_DIM))
    _check_dim(x, path)
    return table.column(ID_COL).to_pylist(), x


def read_pool(path: Path, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(ids, embeddings) of the whole pool in file order, read batch by batch into one preallocated array
    (float32 halves the memory of the 1.2M x 256 matrix; the evaluator never uses this)."""
    n = pool_rows(path)
    x = np.empty((n, EMBEDDING_DIM), dtype=dtype)
    ids = []
    start = 0
    for batch in tracked(_pool_batches(path, [ID_COL, EMB_COL]), "reading the pool", -(-n // 65_536)):
        if batch.num_rows == 0:
            continue
        block = matrix_column(pa.Table.from_batches([batch]), EMB_COL, path, dtype=dtype)
        _check_dim(block, path)
        x[start:start + len(block)] = block
        ids.append(batch.column(ID_COL).to_numpy(zero_copy_only=False))
        start += len(block)
    return (np.concatenate(ids) if ids else np.array([], dtype=object)), x


def _check_dim(x: np.ndarray, path: Path) -> None:
    if len(x) and x.shape[1] != EMBEDDING_DIM:
        raise ValidationError(path, f"column '{EMB_COL}'", f"must hold {EMBEDDING_DIM} numbers per row, has {x.shape[1]}")


def read_examples(path: Path) -> list[str]:
    """The example ImageIDs of one concept (all positives)."""
    if not os.path.lexists(path):
        raise ValidationError(path, None, "example set not found")
    try:
        text = read_supplied(path, DATA_LIMIT, single_link=False).decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError(path, None, f"not a readable UTF-8 CSV ({type(exc).__name__})") from None
    if not rows or ID_COL not in rows[0]:
        raise ValidationError(path, None, f"must be a CSV with an '{ID_COL}' column and at least one row")
    return [r[ID_COL] for r in rows]


@dataclass
class TestSet:
    ids: list[str]
    x: np.ndarray      # (n, 256) float64
    y: np.ndarray      # 0/1


def read_test_set(path: Path) -> TestSet:
    if not path.is_file():
        raise ValidationError(path, None, "test set not found")
    table = read_parquet(path, [ID_COL, LABEL_COL, EMB_COL])   # not the URL and display-name columns
    labels = [str(v) for v in table.column(LABEL_COL).to_pylist()]
    bad = [v for v in labels if v not in ("0", "1")]
    if bad:   # the value is not shown: the test set is hidden from participants
        raise ValidationError(path, f"row {labels.index(bad[0]) + 1} of column '{LABEL_COL}'",
                              "test labels must be '0' or '1'")
    x = matrix_column(table, EMB_COL, path, dtype=np.float64)
    _check_dim(x, path)
    return TestSet(table.column(ID_COL).to_pylist(), x, np.array([int(v) for v in labels], dtype=np.int64))


def read_machine_labels(path: Path, mids: list[str]) -> pa.Table:
    """Rows of the Open Images machine-label CSV for the given MIDs (streamed: the full file is ~1 GB)."""
    import pyarrow.csv as pcsv

    if not path.is_file():
        raise ValidationError(path, None, "machine labels not found (data.official.machine_labels, or the "
                                          "embedded download, writes them)")
    wanted = pa.array(mids, pa.string())
    options = pcsv.ConvertOptions(column_types={ID_COL: pa.string(), "LabelName": pa.string(),
                                                LABEL_COL: pa.float64(), "Source": pa.string()})
    parts = []
    try:
        with open_supplied(path, DATA_LIMIT, single_link=False) as handle, \
                pcsv.open_csv(handle, convert_options=options) as reader:
            for batch in reader:
                table = pa.Table.from_batches([batch])
                parts.append(table.filter(pc.is_in(table.column("LabelName"), wanted)))
    except (pa.ArrowInvalid, KeyError) as exc:
        # pyarrow quotes the offending row: only its position is kept (not a participant's file)
        raise ValidationError(path, None, f"not an ImageID,Source,LabelName,Confidence CSV{arrow_csv_problem(exc)}") from None
    if not parts:
        return pa.table({ID_COL: pa.array([], pa.string()), "LabelName": pa.array([], pa.string()),
                         LABEL_COL: pa.array([], pa.float64())})
    return pa.concat_tables(parts).select([ID_COL, "LabelName", LABEL_COL])


# ---------------------------------------------------------------- embedded generator
#
# A latent space of background clusters (the rest of Open Images) and, per concept, three sub-modes
# (the examples show mostly the first), a look-alike class next to it (near misses), background
# clusters pulled towards it (hard negatives), and re-uploaded images (duplicates under another id).
# The map to 256-d is a fixed random linear map plus noise, so the values look standardised.

LATENT_DIM = 24
BACKGROUND_CLUSTERS = 300
CONCEPT_SHARE = 0.004            # of the pool per concept, and as much again for its look-alike
MIN_CONCEPT_ROWS = 60            # ... but at least this many expected, whatever the pool size
MODE_WEIGHTS = (0.5, 0.3, 0.2)   # a concept's sub-modes
EXAMPLE_MODES = (16, 4, 0)       # the 20 examples per sub-mode: the third one is never shown
DUPLICATES = 0.01
NOISE = 0.5
SPREAD = 0.4
MODE_DISTANCE, LOOK_ALIKE_DISTANCE, HARD_DISTANCE = 1.2, 2.8, 3.2   # from the concept's centre (latent)


@dataclass
class World:
    """The fixed geometry: cluster centres of everything in the pool."""
    concepts: list[str]
    space: synth.LatentSpace
    background: np.ndarray          # (B, L) centres
    background_weights: np.ndarray
    modes: dict                     # concept -> (3, L)
    look_alike: dict                # concept -> (L,)
    hard: dict                      # concept -> (2, L): background clusters near the concept


def make_world(concepts: list[str], seed: int) -> World:
    rng = np.random.default_rng([seed, zlib.crc32(b"vision-selection-world")])
    space = synth.LatentSpace(rng, LATENT_DIM, EMBEDDING_DIM, noise=NOISE, offset=0.0, nonnegative=False)
    background = synth.cluster_centers(rng, BACKGROUND_CLUSTERS, LATENT_DIM, 3.0)
    weights = rng.dirichlet(np.full(BACKGROUND_CLUSTERS, 2.0))
    modes, look_alike, hard = {}, {}, {}
    for concept in concepts:
        crng = np.random.default_rng([seed, zlib.crc32(f"concept-{concept}".encode())])
        centre = synth.cluster_centers(crng, 1, LATENT_DIM, 3.5)[0]
        modes[concept] = centre + synth.cluster_centers(crng, 3, LATENT_DIM, MODE_DISTANCE)
        look_alike[concept] = centre + synth.cluster_centers(crng, 1, LATENT_DIM, LOOK_ALIKE_DISTANCE)[0]
        hard[concept] = centre + synth.cluster_centers(crng, 2, LATENT_DIM, HARD_DISTANCE)
    return World(concepts, space, background, weights, modes, look_alike, hard)


# Kinds of pool rows: background, concept c mode m, look-alike of c, hard negative near c.
KIND_BACKGROUND, KIND_CONCEPT, KIND_LOOK_ALIKE, KIND_HARD = 0, 1, 2, 3


def _latent(world: World, rng: np.random.Generator, kind: np.ndarray, concept: np.ndarray,
            mode: np.ndarray) -> np.ndarray:
    z = np.empty((len(kind), LATENT_DIM))
    bg = kind == KIND_BACKGROUND
    z[bg] = world.background[rng.choice(BACKGROUND_CLUSTERS, size=int(bg.sum()), p=world.background_weights)]
    for c, name in enumerate(world.concepts):
        for k, centres in ((KIND_CONCEPT, world.modes[name]), (KIND_HARD, world.hard[name])):
            sel = (kind == k) & (concept == c)
            z[sel] = centres[mode[sel] % len(centres)]
        sel = (kind == KIND_LOOK_ALIKE) & (concept == c)
        z[sel] = world.look_alike[name]
    return z + SPREAD * rng.normal(size=z.shape)


def _embed(world: World, rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    # float64, like the official (Spark double) embeddings
    return z @ world.space.weights + world.space.bias + NOISE * rng.normal(size=(len(z), EMBEDDING_DIM))


def draw_kinds(rng: np.random.Generator, n: int, n_concepts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: kind, concept index and sub-mode (concepts, look-alikes, hard negatives, the rest background)."""
    share = max(CONCEPT_SHARE, MIN_CONCEPT_ROWS / n)   # small pools still hold every kind of image
    probabilities = [1 - 3 * share * n_concepts] + [share] * (3 * n_concepts)
    choice = rng.choice(len(probabilities), size=n, p=probabilities)
    kind = np.where(choice == 0, KIND_BACKGROUND, (choice - 1) % 3 + 1)
    concept = np.where(choice == 0, -1, (choice - 1) // 3)
    mode = rng.choice(3, size=n, p=MODE_WEIGHTS)
    mode = np.where(kind == KIND_HARD, mode % 2, mode)
    return kind.astype(np.int8), concept.astype(np.int16), mode.astype(np.int8)


def hex_ids(rng: np.random.Generator, n: int, taken: set | None = None) -> list[str]:
    """n distinct 16-hex-char ids (Open Images style), none in taken."""
    taken = set() if taken is None else taken
    out: list[str] = []
    while len(out) < n:
        values = np.unique(rng.integers(0, 2**63, size=n - len(out), dtype=np.int64))
        for text in (f"{v:016x}" for v in rng.permutation(values)):
            if text not in taken:
                taken.add(text)
                out.append(text)
    return out[:n]


def pool_size(scale: float) -> int:
    return max(2000, int(round(POOL_ROWS * scale)))


def _part_name(seed: int, index: int) -> str:
    tag = f"{zlib.crc32(f'pool-{seed}'.encode()):08x}"
    return f"part-{index:05d}-{tag}-0000-0000-0000-{tag}{tag[:4]}-c000.snappy.parquet"


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue().to_pybytes()


def _embedding_array(x: np.ndarray) -> pa.Array:
    flat = pa.array(np.ascontiguousarray(x, dtype=np.float64).ravel())
    return pa.ListArray.from_arrays(pa.array(np.arange(0, x.size + 1, x.shape[1], dtype=np.int32)), flat)


def generate(root: Path, concepts: list[str], scale: float, seed: int) -> dict:
    """Write the whole official layout under root; returns counts.  The pool is generated and written one
    part at a time, so memory stays at one part (16,500 x 256 doubles) plus per-row bookkeeping."""
    lay = Layout(Path(root))
    world = make_world(concepts, seed)
    n = pool_size(scale)
    rng = np.random.default_rng([seed, zlib.crc32(b"vision-selection-pool")])
    kind, concept, mode = draw_kinds(rng, n, len(concepts))
    ids = hex_ids(rng, n)
    pool_dir = lay.pool
    pool_dir.mkdir(parents=True, exist_ok=True)
    for stale in pool_dir.glob("part-*.parquet"):
        stale.unlink()
    for part, start in tracked(list(enumerate(range(0, n, PART_ROWS))), "download: pool parts"):
        stop = min(n, start + PART_ROWS)
        prng = np.random.default_rng([seed, zlib.crc32(b"vision-selection-part"), part])
        x = _embed(world, prng, _latent(world, prng, kind[start:stop], concept[start:stop], mode[start:stop]))
        # Duplicates: the same picture uploaded again, under a new id (a re-encoding moves it a little).
        dup = np.flatnonzero(prng.random(len(x)) < DUPLICATES)
        source = prng.integers(0, len(x), size=len(dup))
        x[dup] = x[source] + 0.02 * prng.normal(size=(len(dup), EMBEDDING_DIM))
        kind[start:stop][dup], concept[start:stop][dup] = kind[start:stop][source], concept[start:stop][source]
        mode[start:stop][dup] = mode[start:stop][source]
        table = pa.table({ID_COL: pa.array(ids[start:stop], pa.string()), EMB_COL: _embedding_array(x)})
        write_bytes_atomic(pool_dir / _part_name(seed, part), _parquet_bytes(table), keep_previous=False)
    write_bytes_atomic(pool_dir / "_SUCCESS", b"", keep_previous=False)

    counts = {"pool": n}
    for c, name in enumerate(concepts):
        crng = np.random.default_rng([seed, zlib.crc32(f"concept-files-{name}".encode())])
        write_examples(lay.examples(name), name, _example_ids(crng, ids, kind, concept, mode, c))
        test = _test_set(world, crng, name, c, taken=set(ids))
        write_bytes_atomic(lay.test_set(name), _parquet_bytes(test), keep_previous=False)
        counts[name] = {"positives_in_pool": int(((kind == KIND_CONCEPT) & (concept == c)).sum()),
                        "test": test.num_rows}
    labels = _machine_labels(np.random.default_rng([seed, zlib.crc32(b"machine-labels")]), ids, kind, concept,
                             concepts)
    write_text(lay.machine_labels, labels, keep_previous=False)
    return counts


def _example_ids(rng, ids, kind, concept, mode, c) -> list[str]:
    chosen = []
    for m, count in enumerate(EXAMPLE_MODES):
        rows = np.flatnonzero((kind == KIND_CONCEPT) & (concept == c) & (mode == m))
        chosen += rng.choice(rows, size=min(count, len(rows)), replace=False).tolist()
    if len(chosen) < sum(EXAMPLE_MODES):   # a tiny pool: complete from the other sub-modes
        rest = np.setdiff1d(np.flatnonzero((kind == KIND_CONCEPT) & (concept == c)), chosen)
        chosen += rng.choice(rest, size=min(len(rest), sum(EXAMPLE_MODES) - len(chosen)), replace=False).tolist()
    return [ids[r] for r in sorted(chosen)]


def write_examples(path: Path, concept: str, example_ids: list[str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["LabelName", ID_COL, LABEL_COL, "OriginalURL", "DisplayName"])
    for image in example_ids:
        writer.writerow([mid_of(concept), image, 1, f"https://farm.staticflickr.example/{image}_o.jpg", concept])
    write_text(path, out.getvalue(), keep_previous=False)


def _test_set(world: World, rng: np.random.Generator, name: str, c: int, taken: set) -> pa.Table:
    size, rate = TEST_SHAPE.get(name, DEFAULT_TEST_SHAPE)
    n_pos = int(round(size * rate))
    n_neg = size - n_pos
    n_look = n_neg // 2
    n_hard = n_neg // 4
    kind = np.array([KIND_CONCEPT] * n_pos + [KIND_LOOK_ALIKE] * n_look + [KIND_HARD] * n_hard
                    + [KIND_BACKGROUND] * (n_neg - n_look - n_hard), dtype=np.int8)
    mode = rng.choice(3, size=size, p=MODE_WEIGHTS)
    order = rng.permutation(size)
    kind, mode = kind[order], mode[order]
    x = _embed(world, rng, _latent(world, rng, kind, np.full(size, c), mode))
    ids = hex_ids(rng, size, taken)
    y = np.where(kind == KIND_CONCEPT, "1", "0")
    return pa.table({ID_COL: pa.array(ids, pa.string()), "LabelName": pa.array([mid_of(name)] * size),
                     LABEL_COL: pa.array(y.tolist(), pa.string()),
                     "OriginalURL": pa.array([f"https://farm.staticflickr.example/{i}_o.jpg" for i in ids]),
                     "DisplayName": pa.array([name] * size), EMB_COL: _embedding_array(x)})


def _machine_labels(rng, ids, kind, concept, concepts) -> str:
    """Open Images style machine labels: most concept images carry their MID (confidence 0.5-1.0), look-alikes
    carry their own MID and sometimes the concept's (the labeller confuses them), a few random images carry a
    wrong concept label.  Confidences have one decimal, as in the Open Images file."""
    lines = ["ImageID,Source,LabelName,Confidence"]
    n = len(ids)
    background = np.flatnonzero(kind == KIND_BACKGROUND)
    for c, name in enumerate(concepts):
        mid, other = mid_of(name), mid_of(look_alike_of(name))
        positive = np.flatnonzero((kind == KIND_CONCEPT) & (concept == c))
        look = np.flatnonzero((kind == KIND_LOOK_ALIKE) & (concept == c))
        rows = [(positive[rng.random(len(positive)) < 0.75], mid, 0.5, 1.0),
                (positive[rng.random(len(positive)) < 0.15], other, 0.5, 0.7),
                (look[rng.random(len(look)) < 0.8], other, 0.5, 1.0),
                (look[rng.random(len(look)) < 0.3], mid, 0.5, 0.8),
                (rng.choice(background, size=max(1, n // 2000), replace=False), mid, 0.5, 0.6)]
        for members, label, low, high in rows:
            confidence = np.round(rng.uniform(low, high, size=len(members)), 1)
            lines += [f"{ids[r]},machine,{label},{v:.1f}" for r, v in zip(members, confidence)]
    return "\n".join(lines) + "\n"


ARCHIVE_NAME = f"{RESOURCES}.zip"
