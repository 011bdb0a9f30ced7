"""Everything the round server needs from a cube, and the only module of the server that reaches one.

The server and the workers see a cube through `RoundCube` (prepare the hidden data, validate a submission,
score it) and `run_closed` (the closed division).  It is generic over the cube contract (common.cubes): a cube is
its registry record, nothing else is imported by name.

- prepare: the cube's `download` task in the round's folder for that cube, with the organiser's parameters and a
  secret 128-bit `data.seed` (as `dataperf closed-seed`), so nobody outside can regenerate the hidden test data.
- validate: the cube's Evaluation (contract field `evaluation`) finds and checks the files against the hidden
  data, without scoring them.
- score: the same Evaluation, kept warm: one instance per cube and process holds the hidden data and frozen models
  across submissions, so one more submission costs its scoring only (the evaluate task's own frame, minus the
  publication).  Its summary's `parts` give the public and private scores; without a split, the whole test.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from common.core.errors import DataPerfError, ValidationError, ValidationErrors
from common.core.io import write_yaml
from common.untrusted.documents import read_json
from common.untrusted.files import excerpt, open_supplied

WHOLE, PUBLIC, PRIVATE = "whole", "public", "private"
SUBMISSION_PARAMETER = "submission_folder"
REASON_CHARS = 500
ARCHIVE_LIMIT = 1 << 40     # the upload limit bounded the archive already; this only bounds a runaway read


class PlatformError(Exception):
    """The round's side failed (its data, the engine), not the submission: never the team's fault or quota."""


@dataclass(frozen=True)
class Scored:
    score: float                    # what the board shows during the round: the public part, or the whole test
    part: str                       # PUBLIC or WHOLE
    score_private: float | None     # the private part, when the cube has a split
    result: dict                    # the cube's figures for the record: header and the method's entry


class Refused(Exception):
    """The submission breaks a rule of the cube: the one-line reason, which never holds hidden data."""


class Scorer(Protocol):
    """Scores one submission after another (a warm one keeps the hidden data loaded); Refused for a submission
    that breaks a rule, PlatformError when the round's side fails.  `work`: a folder it may write its files in."""

    def score(self, files: Path, work: Path | None = None) -> Scored: ...


class RoundCube(Protocol):
    """A cube bound to its folder in the round (round_cube(name, folder))."""
    name: str

    def prepare(self, parameters_file: Path | None, data_seed: int, split_seed: int | None = None,
                public_fraction: float = 0.3) -> None:
        """The hidden data, made with the organiser's parameters and the secret seeds."""

    def validate(self, files: Path) -> str | None:
        """None, or the one-line reason the files are refused (never holding hidden data)."""

    def scorer(self) -> Scorer: ...

    def rank(self, folder: Path) -> dict:
        """The summary of several submissions (one method folder each) scored together: their rank groups."""


def available() -> tuple[str, ...]:
    from common.cubes import registry
    return registry.names()


def round_cube(name: str, folder: Path) -> RoundCube:
    """The cube `name` with its round data in `folder` (the round's cubes/<name>/)."""
    if name not in available():
        raise DataPerfError(f"unknown cube {excerpt(name)} (available: {', '.join(available())})")
    return ContractCube(name, Path(folder))


def _first_line(text: str) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= REASON_CHARS else line[:REASON_CHARS] + "…"


def _names_round_data(error: DataPerfError, parameters: set[str]) -> bool:
    """Does the error name a file of the round's own data (a task path other than the submission)?  Messages name
    files relative to their task parameter (common.errors.display_path): `seller_folder: 3/seller_0.csv`."""
    errors = error.errors if isinstance(error, ValidationErrors) else [error]
    named = {(getattr(e, "file", None) or "").split(":", 1)[0] for e in errors}
    return bool(named & (parameters - {SUBMISSION_PARAMETER, "results_folder"}))


def scored_from_summary(summary: dict) -> tuple[str, Scored | None, str | None]:
    """(method, Scored or None, refusal reason or None) of the one method in an evaluate summary."""
    methods = list(summary.get("methods") or {})
    refused = summary.get("refused") or []
    names = sorted(set(methods) | {r.get("method") or "submission" for r in refused})
    if len(names) > 1:
        return "", None, (f"a submission holds one method's files, found {len(names)} methods "
                          f"({', '.join(excerpt(n, 30) for n in names[:5])}): put the files side by side")
    if refused:
        more = f" (and {len(refused) - 1} more problem{'s' if len(refused) > 2 else ''})" if len(refused) > 1 else ""
        return names[0], None, _first_line(refused[0].get("reason") or "refused") + more
    if not methods:
        return "", None, "no submission file was found"
    method = methods[0]
    entry = summary["methods"][method]
    header = {key: summary.get(key) for key in ("cube", "title", "score", "group_by", "groups", "extras", "mode")}
    parts = entry.get("parts") or {}
    if PUBLIC in parts and PRIVATE in parts:
        scored = Scored(float(parts[PUBLIC]["score"]), PUBLIC, float(parts[PRIVATE]["score"]),
                        {"header": header, "method": entry})
    else:
        scored = Scored(float(entry["mean"]), WHOLE, None, {"header": header, "method": entry})
    return method, scored, None


class ContractCube:
    """A cube through its contract record: its download task makes the round's data, its Evaluation validates and
    scores (warm: the Evaluation is made once and keeps the hidden data loaded)."""

    def __init__(self, name: str, folder: Path):
        from common.cubes import registry
        self.name, self.folder = name, folder
        self.record = registry.get(name)
        self._evaluation = self._ranking = None

    @property
    def parameters_file(self) -> Path:
        return self.folder / "parameters.yaml"

    def _values(self, parameters_file: Path | None) -> dict:
        from common.untrusted.parameters_file import read_parameters_file
        source = parameters_file or self.record.folder / "workspace" / "parameters.yaml"
        values = read_parameters_file(source)
        if not isinstance(values, dict):
            raise ValidationError(source, None, "must be a mapping of parameters")
        return values

    def prepare(self, parameters_file: Path | None, data_seed: int, split_seed: int | None = None,
                public_fraction: float = 0.3) -> None:
        """The round's parameters (the organiser's, with the secret data seed and the secret split seed that
        says which hidden items are public) and the hidden data they make."""
        from common.parameters.schema import Parameters
        from common.tasks.local import run_tasks
        values = self._values(parameters_file)
        values.setdefault("data", {})
        if not isinstance(values["data"], dict):
            raise ValidationError(parameters_file, "parameter 'data'", "must be a mapping")
        values["data"]["seed"] = int(data_seed)
        if split_seed is not None:
            evaluate = values.setdefault("evaluate", {})
            if not isinstance(evaluate, dict):
                raise ValidationError(parameters_file, "parameter 'evaluate'", "must be a mapping")
            evaluate["split"] = {"seed": int(split_seed), "public_fraction": float(public_fraction)}
        self.folder.mkdir(parents=True, exist_ok=True)
        write_yaml(self.parameters_file, values, keep_previous=False)
        Parameters.load(self.parameters_file, self.record.schema)    # every value checked before any data is made
        with contextlib.redirect_stdout(_Discard()):
            run_tasks(self.name, ["download"], self.folder, {})

    def score_info(self) -> dict:
        """The cube's score name, label and direction (for an empty board)."""
        return self.record.score.as_dict()

    def data_paths(self) -> dict[str, Path]:
        """The evaluate task's hidden-data inputs (mlcube.yaml), in the round's folder of this cube."""
        from common.tasks.local import task_paths
        return {name: self.folder / default
                for name, (direction, _kind, default) in task_paths(self.name, "evaluate").items()
                if direction == "inputs" and name not in ("parameters_file", SUBMISSION_PARAMETER)}

    def _new_evaluation(self, overrides: dict):
        from common.parameters.schema import Parameters, command_line_overrides
        overrides = dict(overrides)
        if self.record.schema.rule("evaluate.workers") is not None and _in_a_worker_process():
            overrides["evaluate.workers"] = 1      # no process pool inside a pool's own process
        try:
            with command_line_overrides(overrides):
                params = Parameters.load(self.parameters_file, self.record.schema)
        except DataPerfError as exc:
            raise PlatformError(f"the round's parameters of {self.name} are unusable: "
                                f"{_first_line(str(exc))}") from None
        return self.record.evaluation.load()(self.name, params, self.data_paths())

    def evaluation(self):
        """The cube's Evaluation on the round's data, made once (it loads the hidden data when first needed).
        One submission alone has nothing to be ranked against: no bootstrap here (its scores are the same)."""
        if self._evaluation is None:
            self._evaluation = self._new_evaluation({"evaluate.bootstrap.replicates": 0})
        return self._evaluation

    def _run(self, evaluation, files: Path) -> dict:
        from common.compute import backend
        from common.compute.parallel import resolve_workers, session

        def run():
            with contextlib.redirect_stdout(_Discard()), \
                    session(backend.of(evaluation.params),
                            resolve_workers(evaluation.params.get("evaluate.workers"), 1 << 30)):
                return evaluation.run(files).summary
        return self._guarded(run, files)

    def rank(self, folder: Path) -> dict:
        """The summary of the methods in `folder` scored together with the round's bootstrap (rank groups)."""
        if self._ranking is None:
            self._ranking = self._new_evaluation({})
        return self._run(self._ranking, folder)

    def _guarded(self, step, files: Path):
        """Run one step on `files`: a problem of the round's own data is a PlatformError, any other a Refused."""
        from common.core.errors import named_paths
        arguments = {**self.data_paths(), "parameters_file": self.parameters_file, SUBMISSION_PARAMETER: files}
        try:
            with named_paths(arguments, self.name):     # messages name files as `submission_folder: 0.txt`
                return step()
        except DataPerfError as exc:
            if _names_round_data(exc, set(arguments)):
                raise PlatformError(f"the round's data of {self.name} is unusable: {_first_line(str(exc))}") \
                    from None
            raise Refused(_first_line(str(exc.errors[0]) if isinstance(exc, ValidationErrors) else str(exc))) \
                from None

    def validate(self, files: Path) -> str | None:
        """Find and check the files as evaluate does, without scoring: None, or the first one-line reason."""
        evaluation = self.evaluation()

        def check():
            problems: list = []
            submissions = evaluation.find(files, problems)
            if problems:
                return str(problems[0][1])
            methods = {sub.method for sub in submissions}
            if len(methods) > 1:
                return (f"a submission holds one method's files, found {len(methods)} methods "
                        f"({', '.join(excerpt(m, 30) for m in sorted(methods)[:5])}): put the files side by side")
            if not submissions:
                return "no submission file was found"
            evaluation.prepare(submissions)
            for sub in submissions:
                try:
                    evaluation.check(sub, files)
                except ValidationError as exc:
                    return str(exc)       # inside named_paths: files named by their task parameter
            return None

        try:
            problem = self._guarded(check, files)
        except Refused as exc:
            return str(exc)
        return None if problem is None else _first_line(problem)

    def evaluate(self, files: Path) -> dict:
        """The summary the evaluate task would write for `files` (not published: the server keeps its record)."""
        return self._run(self.evaluation(), files)

    def scorer(self) -> Scorer:
        return _WarmScorer(self)


class _WarmScorer:
    def __init__(self, cube: ContractCube):
        self.cube = cube

    def score(self, files: Path, work: Path | None = None) -> Scored:
        _, scored, reason = scored_from_summary(self.cube.evaluate(files))
        if scored is None:
            raise Refused(reason)
        return scored


class _Discard:
    """A write-only sink (evaluate's printout when nobody reads it)."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _summary(results: Path) -> dict | None:
    """The summary of the result set in view in a results folder (the runner published it as a set)."""
    from common.results.publish import current
    if not results.is_dir():
        return None
    path = current(results) / "summary.json"
    return read_json(path) if path.exists() else None


def _in_a_worker_process() -> bool:
    import multiprocessing
    return multiprocessing.parent_process() is not None


# ------------------------------------------------------------------ validation in the server's process pool

_CUBES: dict[tuple[str, str], RoundCube] = {}


def validate_in_pool(name: str, folder: str, files: str) -> str | None:
    """What the server's validation processes run: the cube's validation of the files (a picklable call)."""
    key = (name, folder)
    if key not in _CUBES:
        _CUBES[key] = round_cube(name, Path(folder))
    return _CUBES[key].validate(Path(files))


def warm_up(names: list[str]) -> None:
    """Import the cubes' evaluations once in a validation process, so the first upload does not pay for it."""
    from common.cubes import registry
    for name in names:
        registry.get(name).evaluation.load()


# ------------------------------------------------------------------ the closed division

@dataclass(frozen=True)
class ClosedResult:
    status: str                 # the closed runner's status (common.closed.outcomes)
    reason: str
    digest: str | None
    scored: Scored | None


def load_image_archive(archive: Path) -> str:
    """A `docker save` archive loaded into the organiser's engine; returns the image id to run."""
    try:
        import docker
    except ImportError:
        raise PlatformError("the closed division needs the Docker SDK for Python (pip install docker)") from None
    try:
        client = docker.from_env(timeout=120)
        with open_supplied(archive, ARCHIVE_LIMIT) as handle:     # a blob of the round's store: one name, no link
            images = client.images.load(handle)
    except docker.errors.DockerException as exc:
        raise PlatformError(f"the Docker engine could not load the image archive ({excerpt(str(exc), 200)})") \
            from None
    except docker.errors.APIError as exc:    # pragma: no cover - APIError is a DockerException; kept for clarity
        raise Refused(f"the image archive could not be loaded ({excerpt(str(exc), 200)})") from None
    if len(images) != 1:
        raise Refused(f"the image archive must hold exactly one image (it holds {len(images)})")
    return images[0].id


def run_closed(name: str, folder: Path, image: str, archive: Path | None, round_name: str,
               closed_limits: dict | None = None) -> ClosedResult:
    """One participant image through the closed-division runner on the round's data; its output scored."""
    from common.closed.round import run_round
    from common.parameters.schema import command_line_overrides
    reference = load_image_archive(archive) if archive is not None else image
    overrides = {f"closed.{key}": value for key, value in (closed_limits or {}).items()}
    try:
        with contextlib.redirect_stdout(_Discard()), command_line_overrides(overrides):
            path = run_round(name, images=[reference], workspace=folder, round_name=round_name)
    except DataPerfError as exc:       # the engine or the round's data, before the image ran
        raise PlatformError(_first_line(str(exc))) from None
    results = read_json(Path(path))
    entry = results["images"][0]
    digest = entry.get("id")
    if entry["status"] != "scored":
        return ClosedResult(entry["status"], _first_line(entry.get("reason") or entry["status"]), digest, None)
    summary = _summary(Path(path).parent / entry["folder"] / "results")
    _, scored, reason = scored_from_summary(summary or {})
    if scored is None:
        return ClosedResult("invalid_output", reason or "no score", digest, None)
    return ClosedResult("scored", "scored", digest, scored)
