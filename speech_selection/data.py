"""Data of the speech-selection challenge: the official layout, loading, and the embedded generator.

Per language (en, id, pt), under data/dataperf_{lang}_data/:
  train_embeddings/<word>.parquet   clip_id, mswc_embedding_vector (1024 floats): the allowed pool
  eval_embeddings/<word>.parquet    the same for the evaluation clips
  allowed_training_set.yaml         {targets: {<keyword>: [clip ids]} x5, nontargets: [clip ids]}
  eval.yaml                         the same shape for the evaluation set
Clip ids are '<word>/common_voice_<lang>_<n>.wav'; the word is also the parquet file name.
"""
from __future__ import annotations

import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import yaml

from common.compute.parallel import resolve_workers
from common.core.errors import ValidationError
from common.core.io import write_yaml
from common.data import synth
from common.data.tables import matrix_column, read_parquet, write_parquet
from common.untrusted.documents import parse_yaml
from common.untrusted.files import read_supplied

EMBEDDING_DIM = 1024
# English keywords are the official ones; the others are stand-ins (the official ones are not published)
# and include non-ASCII names so that file names are exercised the way the official pt/id data does.
KEYWORDS = {
    "en": ["restaurant", "fifty", "episode", "job", "route"],
    "id": ["sudah", "dengan", "waktu", "bisa", "tidak"],
    "pt": ["cidade", "então", "música", "sempre", "também"],
}


def language_dir(data_folder: Path, lang: str) -> Path:
    return Path(data_folder) / f"dataperf_{lang}_data"


@dataclass(frozen=True)
class LanguageFiles:
    lang: str
    root: Path

    @property
    def train_embeddings(self) -> Path:
        return self.root / "train_embeddings"

    @property
    def eval_embeddings(self) -> Path:
        return self.root / "eval_embeddings"

    @property
    def allowed(self) -> Path:
        return self.root / "allowed_training_set.yaml"

    @property
    def eval(self) -> Path:
        return self.root / "eval.yaml"


def language_files(data_folder: Path, lang: str) -> LanguageFiles:
    return LanguageFiles(lang, language_dir(data_folder, lang))


def word_of(clip_id: str) -> str:
    if clip_id[:1] not in ("", "/", "."):   # the usual 'word/...': no path normalisation can change the word
        return clip_id.split("/", 1)[0]
    return PurePosixPath(clip_id).parts[0]


def read_id_lists(path: Path) -> dict:
    """allowed_training_set.yaml / eval.yaml, checked for shape.  A parse error names the line only: the
    evaluation set may be hidden from participants, so nothing of the file is quoted."""
    raw = read_supplied(path, ID_LIST_LIMIT, single_link=False)
    data = _plain_id_lists(raw)
    if data is None:   # any other layout: what yaml.safe_load reads (libyaml first, the pure-Python parser after)
        data = parse_yaml(raw, Path(path))
    if not isinstance(data, dict) or not isinstance(data.get("targets"), dict) \
            or not isinstance(data.get("nontargets"), list):
        raise ValidationError(path, None, "must be a mapping with 'targets' (keyword -> clip ids) and 'nontargets' (clip ids)")
    return data


# The block layout yaml.safe_dump writes for an id list, line by line.  A plain id has a '/' and only word
# characters, '.', '-' and '/': no YAML 1.1 resolver (int, float, bool, null, timestamp, merge, value)
# matches such a scalar, so it loads as exactly this string.  A double-quoted scalar (what safe_dump writes
# for non-ASCII names) is always a string; only its \x, \u and \U escapes are accepted here.  Plain keys
# are checked with the resolver ('yes:' would be True).
ID_LIST_LIMIT = 512 << 20     # the official evaluation lists hold some 30k ids, a few MB

_PLAIN_ID = r"[^\W_][\w.\-]*/[\w.\-/]*"
_QUOTED = r'"(?:[\w.\-/]|\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*"'
_KEY_LINE = re.compile(rf"  ([^\W_][\w.\-]*|{_QUOTED}):")
_ID_LINE = re.compile(rf"(  )?- ({_PLAIN_ID}|{_QUOTED})")
_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()   # the implicit resolvers of SafeLoader and CSafeLoader


def _scalar(text: str) -> str | None:
    """The string a matched scalar loads as; None for a plain key that would load as something else."""
    if text.startswith('"'):
        try:
            return _ESCAPE.sub(lambda m: chr(int(m.group(m.lastindex), 16)), text[1:-1])
        except ValueError:   # \U beyond U+10FFFF: PyYAML's error
            return None
    return text if _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG else None


def _plain_id_lists(raw: bytes) -> dict | None:
    """What yaml.safe_load gives for an id list in the plain block layout, or None for any other text
    (then PyYAML reads it).  About 5x faster than libyaml on the 30k-id evaluation lists."""
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2 or lines[0] != "targets:":
        return None
    targets: dict[str, list[str]] = {}
    nontargets: list[str] = []
    key, items, in_targets = None, None, True
    for line in lines[1:]:
        if in_targets and line == "nontargets:":
            in_targets = False
            continue
        match = _ID_LINE.fullmatch(line)
        if match is not None:
            clip = match.group(2)
            clip = _scalar(clip) if clip.startswith('"') else clip   # plain ids need no resolver (see above)
            if clip is None:
                return None
            if in_targets and match.group(1) and items is not None:
                items.append(clip)
            elif not in_targets and not match.group(1):
                nontargets.append(clip)
            else:
                return None
            continue
        match = _KEY_LINE.fullmatch(line) if in_targets else None
        new_key = _scalar(match.group(1)) if match is not None else None
        if new_key is None or (items is not None and not items):
            return None
        if key is not None:
            targets[key] = items   # a repeated key: the last list wins, at the first place (as PyYAML)
        key, items = new_key, []
    if in_targets or key is None or not items or not nontargets:
        return None
    targets[key] = items
    return {"targets": targets, "nontargets": nontargets}


@dataclass
class WordTable:
    """All clips of one word: ids in file order, their embeddings, and id -> first row."""
    ids: list[str]
    x: np.ndarray
    row: dict = field(default_factory=dict)


class EmbeddingStore:
    """Reads each <word>.parquet at most once."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.tables: dict[str, WordTable] = {}

    def word(self, word: str) -> WordTable:
        if word not in self.tables:
            self.tables[word] = self._read(word)
        return self.tables[word]

    def preload(self, words) -> None:
        """Reads the words' files not read yet on a few threads (pyarrow decodes without the GIL); the first
        unreadable one in the given order is the error, as a one-by-one read would raise."""
        todo = [w for w in dict.fromkeys(words) if w not in self.tables]
        threads = min(resolve_workers("auto", len(todo)), 8)
        if threads < 2:
            return
        with ThreadPoolExecutor(threads) as pool:
            for word, table in zip(todo, pool.map(self._read, todo)):
                self.tables[word] = table

    def _read(self, word: str) -> WordTable:
        path = self.folder / f"{word}.parquet"
        table = read_parquet(path, ["clip_id", "mswc_embedding_vector"])
        # The file's own dtype, as the original (pandas) keeps it: a float64 file is not rounded to float32.
        # A view of the table: rows are only ever copied out of it (_gather).
        x = matrix_column(table, "mswc_embedding_vector", path, dtype=None, copy=False)
        if len(x) and x.shape[1] != EMBEDDING_DIM:
            raise ValidationError(path, "column 'mswc_embedding_vector'",
                                  f"must hold {EMBEDDING_DIM} numbers per row, has {x.shape[1]}")
        ids = [str(i) for i in table.column("clip_id").to_pylist()]
        rows: dict[str, int] = {}
        for i, clip in enumerate(ids):
            rows.setdefault(clip, i)
        return WordTable(ids, x, rows)


def _sample_rows(id_lists: dict, store: EmbeddingStore, where: Path) -> tuple[list, list]:
    """(targets, nontargets): lists of (word table, rows), in the original loader's row order.

    Targets: per keyword in the given key order, the rows of <keyword>.parquet whose clip id is
    listed, in file order (so a repeated target id yields one row).  Nontargets: grouped by word
    in order of first appearance, then in list order, one row per listed id (repeats kept).
    """
    groups: dict[str, list[str]] = {}
    for clip in id_lists["nontargets"]:
        groups.setdefault(word_of(clip), []).append(clip)
    store.preload([*id_lists["targets"], *groups])
    targets = []
    for keyword, ids in id_lists["targets"].items():
        table = store.word(keyword)
        wanted = set(ids)
        targets.append((keyword, table, [i for i, clip in enumerate(table.ids) if clip in wanted]))
    nontargets = []
    for word, clips in groups.items():
        table = store.word(word)
        missing = [c for c in clips if c not in table.row]
        if missing:   # the ids are not quoted: they may come from the hidden evaluation set
            raise ValidationError(store.folder / f"{word}.parquet", None,
                                  f"{len(missing)} clip id(s) listed in {Path(where).name} have no row here")
        nontargets.append((table, [table.row[c] for c in clips]))
    return targets, nontargets


def _gather(parts: list[tuple[WordTable, list[int]]]) -> np.ndarray:
    """The listed rows of several word tables as one matrix, copied once.  It keeps the files' dtype, promoted
    as np.vstack (the original's) would: a float64 file is not rounded to float32."""
    dtypes = [table.x.dtype for table, rows in parts if rows]
    out = np.empty((sum(len(rows) for _, rows in parts), EMBEDDING_DIM),
                   dtype=np.result_type(*dtypes) if dtypes else np.float32)
    at = 0
    for table, rows in parts:
        if rows:
            if table.x.dtype == out.dtype:
                np.take(table.x, rows, axis=0, out=out[at:at + len(rows)])
            else:   # np.take refuses an `out` of another dtype, even a wider one
                out[at:at + len(rows)] = table.x[rows]
            at += len(rows)
    return out


def load_samples(id_lists: dict, store: EmbeddingStore, where: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Embeddings for a {targets, nontargets} selection: per keyword, and the nontargets (see _sample_rows)."""
    targets, nontargets = _sample_rows(id_lists, store, where)
    return {keyword: _gather([(table, rows)]) for keyword, table, rows in targets}, _gather(nontargets)


def load_design_matrix(id_lists: dict, store: EmbeddingStore, where: Path, class_of: dict[str, int]):
    """design_matrix(*load_samples(...), class_of), with one copy of the embeddings instead of three."""
    targets, nontargets = _sample_rows(id_lists, store, where)
    parts = [(table, rows) for _, table, rows in targets] + nontargets
    labels = [np.full(len(rows), class_of[keyword]) for keyword, _, rows in targets]
    labels.append(np.zeros(sum(len(rows) for _, rows in nontargets), dtype=np.int64))
    return _gather(parts), np.concatenate(labels).astype(np.int64)


# ---------------------------------------------------------------- embedded generator

LATENT_DIM = 32
BASE_TARGET_COUNTS = [1600, 1100, 800, 550, 350]   # allowed clips per keyword at scale 1 (imbalanced)
NONTARGET_WORDS = 100                              # known words (train + eval) and unseen words (eval only)
NONTARGET_TRAIN_CLIPS, NONTARGET_EVAL_CLIPS, UNSEEN_EVAL_CLIPS = 100, 100, 200
SPREAD, NOISE = 0.5, 0.6                           # within-word spread (latent) and feature noise
MISLABELLED = 0.08                                 # target clips whose audio is another word (alignment errors)

_SYLLABLES = {
    "en": ["ta", "ro", "mi", "den", "sel", "ka", "por", "lin", "ver", "bu", "chi", "mon", "ster", "ga", "le"],
    "id": ["ba", "ka", "la", "ma", "ng", "ra", "sa", "ti", "pu", "ja", "nya", "ker", "dan", "bu", "si"],
    "pt": ["ção", "ra", "ma", "lê", "ão", "fi", "nho", "ta", "pé", "cá", "do", "vi", "mó", "rei", "se"],
}


def _pseudo_words(rng: np.random.Generator, lang: str, n: int, taken: set[str]) -> list[str]:
    words: list[str] = []
    syllables = _SYLLABLES[lang]
    while len(words) < n:
        word = "".join(rng.choice(syllables, size=int(rng.integers(2, 4))))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def language_rng(seed: int, lang: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"speech-{lang}".encode())])


def generate_language(lang: str, scale: float, seed: int) -> dict:
    """Word lists, clip ids and embeddings for one language (see the module docstring for the layout)."""
    rng = language_rng(seed, lang)
    keywords = list(KEYWORDS[lang])
    n_words = max(3, int(round(NONTARGET_WORDS * scale)))
    taken = set(keywords)
    known = _pseudo_words(rng, lang, n_words, taken)
    unseen = _pseudo_words(rng, lang, n_words, taken)
    space = synth.LatentSpace(rng, LATENT_DIM, EMBEDDING_DIM, noise=NOISE, offset=0.2)
    centers = {w: c for w, c in zip(keywords + known + unseen,
                                    synth.cluster_centers(rng, len(keywords) + 2 * n_words, LATENT_DIM, 3.0))}
    # Confusable words: one known and one unseen nontarget sit close to each keyword ("fifty"/"fifteen").
    for i, keyword in enumerate(keywords):
        for pool in (known, unseen):
            w = pool[i % len(pool)]
            centers[w] = 0.65 * centers[keyword] + 0.35 * centers[w]
    counter = iter(rng.permutation(10_000_000)[: 4 * (sum(BASE_TARGET_COUNTS) + 4 * n_words * 100) + 1000] + 1_000_000)

    def clips(word: str, n: int, audio_of: list[str] | None = None) -> tuple[list[str], np.ndarray]:
        ids = [f"{word}/common_voice_{lang}_{next(counter)}.wav" for _ in range(n)]
        sources = audio_of or [word] * n
        z = np.stack([centers[s] for s in sources]) + SPREAD * rng.normal(size=(n, LATENT_DIM))
        return ids, space.embed(rng, z)

    counts = rng.permutation(BASE_TARGET_COUNTS)
    out = {"keywords": keywords, "train": {}, "eval": {}, "allowed": {"targets": {}, "nontargets": []},
           "evalset": {"targets": {}, "nontargets": []}}
    for keyword, count in zip(keywords, counts):
        n_train = max(8, int(round(count * scale)))
        n_eval = max(4, n_train // 4)
        others = [w for w in keywords + known if w != keyword]
        sources = [keyword if rng.random() >= MISLABELLED else others[int(rng.integers(len(others)))]
                   for _ in range(n_train)]
        ids, x = clips(keyword, n_train, sources)
        out["train"][keyword] = (ids, x)
        out["allowed"]["targets"][keyword] = ids
        eids, ex = clips(keyword, n_eval)
        out["eval"][keyword] = (eids, ex)
        out["evalset"]["targets"][keyword] = eids
    for word in known:
        ids, x = clips(word, NONTARGET_TRAIN_CLIPS)
        out["train"][word] = (ids, x)
        out["allowed"]["nontargets"] += ids
        eids, ex = clips(word, NONTARGET_EVAL_CLIPS)
        out["eval"][word] = (eids, ex)
        out["evalset"]["nontargets"] += eids
    for word in unseen:
        eids, ex = clips(word, UNSEEN_EVAL_CLIPS)
        out["eval"][word] = (eids, ex)
        out["evalset"]["nontargets"] += eids
    return out


def write_language(files: LanguageFiles, generated: dict) -> None:
    for split, folder in (("train", files.train_embeddings), ("eval", files.eval_embeddings)):
        for word, (ids, x) in generated[split].items():
            write_parquet(folder / f"{word}.parquet", {"clip_id": pa.array(ids, pa.string()),
                                                       "mswc_embedding_vector": x})
    write_yaml(files.allowed, generated["allowed"], keep_previous=False)
    write_yaml(files.eval, generated["evalset"], keep_previous=False)


def id_table_path(yaml_path: Path) -> Path:
    return yaml_path.with_suffix(".csv")
