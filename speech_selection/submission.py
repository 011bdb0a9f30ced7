"""Submission files of the speech-selection challenge: naming, parsing and validation.

A submission is one JSON file per language and budget, `{lang}_{budget}_train.json`:
    {"targets": {"<keyword>": ["<keyword>/common_voice_<lang>_<n>.wav", ...], ...},
     "nontargets": ["<word>/common_voice_<lang>_<n>.wav", ...]}
In submission_folder, each sub-folder is one method (create_baselines writes submissions/<method>/);
files directly in submission_folder are the method "submission".

Default rules (strict): only the two keys, none given twice; keywords of this language; every clip id from
the allowed training set of its class, each at most once; at most `budget` clips in all, at least one.
A keyword may be missing or empty: its class is then simply not trained (policy; class ids come
from the allowed keyword names, so nothing shifts).  `compat: true` applies only the original's
four checks (keywords allowed, ids allowed, nontargets allowed, count incl. repeats <= budget), its
json.load (a repeated key: the last wins) and its label mapping from the submission's own keys.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from common.core.errors import MAX_LISTED, ValidationError, raise_all
from common.core.first_use import no_submissions
from common.core.io import write_text
from common.tasks.plugins import method_folders, settle
from common.untrusted.files import excerpt, read_supplied
from common.untrusted.formats import load_json


FILE_NAME = re.compile(r"^(?P<lang>[a-z]+)_(?P<budget>[1-9][0-9]*)_train\.json\Z")   # 25, never 025
LOOSE_METHOD = "submission"
CLIP_LANGUAGE = re.compile(r"common_voice_(?P<lang>[a-z]+)_")
JSON_BYTES_PER_CLIP = 1024
JSON_SLACK_BYTES = 1 << 20


@dataclass(frozen=True)
class SubmissionFile:
    method: str
    lang: str
    budget: int
    path: Path


def submission_name(lang: str, budget: int) -> str:
    return f"{lang}_{budget}_train.json"


def write_submission(folder: Path, method: str, lang: str, budget: int, selection: dict) -> Path:
    """The official JSON (sorted keys, indent 4) in folder/<method>/."""
    text = json.dumps({"targets": selection["targets"], "nontargets": selection["nontargets"]},
                      sort_keys=True, indent=4, ensure_ascii=False)
    return write_text(Path(folder) / method / submission_name(lang, budget), text + "\n")


def find_submissions(folder: Path, languages: list[str], budgets: list[int], compat: bool,
                     problems: list | None = None) -> list[SubmissionFile]:
    found = []
    groups, errors = method_folders(folder, (".json",), LOOSE_METHOD, check_names=not compat)
    for method, place, files in groups:
        have = set()
        for path in files:
            match = FILE_NAME.match(path.name)
            ok = match and match["lang"] in languages and int(match["budget"]) in budgets
            if not ok:
                if not compat:
                    errors.append((method, ValidationError(path, None, f"file names must be <language>_<budget>_"
                                                                       f"train.json with a language in {languages} "
                                                                       f"and a budget in {budgets}")))
                continue
            key = (match["lang"], int(match["budget"]))
            if key in have:   # compat may name one group twice (en_25 and en_025): one of them would silently win
                errors.append((method, ValidationError(path, None, f"a second file for {key[0]} and budget {key[1]}: "
                                                                   "keep one")))
                continue
            have.add(key)
            found.append(SubmissionFile(method, match["lang"], int(match["budget"]), path))
        missing = [submission_name(lang, b) for lang in languages for b in budgets if (lang, b) not in have]
        if missing and not compat:
            errors.append((method, ValidationError(place / missing[0], f"method '{method}'",
                                                   f"missing file: every method needs all of {missing}")))
    found = settle(found, errors, problems)
    if not found and errors:
        return found
    if not found:
        raise no_submissions(folder, "<method>/<language>_<budget>_train.json")
    return found


def json_limit(budget: int) -> int:
    """Largest submission file read: a clip id takes ~40 bytes, so 1 KiB per clip of the budget plus 1 MiB
    holds any valid file, compat's repeats and extra keys included."""
    return JSON_SLACK_BYTES + JSON_BYTES_PER_CLIP * budget


def read_json_submission(path: Path, budget: int, compat: bool, root: Path | None = None) -> object:
    """The parsed JSON of one file, read through read_supplied (no link below `root`, the submission folder).
    A repeated key is an error, except in compat, where the last one wins as in the original's json.load."""
    return load_json(read_supplied(path, json_limit(budget), root), path, duplicates=compat)


class ClipIndex:
    """Where a clip id belongs in the allowed training set, to explain a rejected id precisely.

    The evaluation set is deliberately not consulted: an evaluation clip gets the same answer as any other id
    outside the allowed set, so the answers never reveal which ids the hidden evaluation set holds.  The
    language named for a foreign id comes from the id's own text (`common_voice_<lang>_`), not from any file.
    """

    def __init__(self, lang: str, allowed: dict):
        self.lang = lang
        self.allowed_class = {c: k for k, ids in allowed["targets"].items() for c in ids}
        self.allowed_class.update({c: None for c in allowed["nontargets"]})

    def problem(self, clip, expected: str | None) -> str | None:
        """None when clip is an allowed clip of class `expected` (None = nontarget), else the rule it breaks."""
        if not isinstance(clip, str):
            return f"clip ids must be strings, found {excerpt(clip)}"
        if clip in self.allowed_class:
            actual = self.allowed_class[clip]
            if actual == expected:
                return None
            return f"belongs to {'keyword ' + repr(actual) if actual else 'the nontargets'}, not to " \
                   f"{'keyword ' + repr(expected) if expected else 'the nontargets'}"
        language = CLIP_LANGUAGE.search(clip)
        if language and language["lang"] != self.lang:
            return f"is a clip of language {excerpt(language['lang'])}, not '{self.lang}'"
        return "not in the allowed training set"


def validate_selection(path: Path, data: object, index: ClipIndex, keywords: list[str], budget: int,
                       compat: bool) -> dict:
    """The selection as {targets: {keyword: ids}, nontargets: ids}, or ValidationError(s)."""
    if not isinstance(data, dict):
        raise ValidationError(path, None, "must be a JSON object with 'targets' and 'nontargets'")
    for key in ("targets", "nontargets"):
        if key not in data:
            raise ValidationError(path, f"key '{key}'", "missing (a submission has 'targets' and 'nontargets')")
    if not isinstance(data["targets"], dict):
        raise ValidationError(path, "key 'targets'", "must map each keyword to a list of clip ids")
    lists = list(data["targets"].values()) + [data["nontargets"]]
    if not all(isinstance(v, list) for v in lists):
        raise ValidationError(path, None, "each keyword and 'nontargets' must hold a list of clip ids")
    errors: list[ValidationError] = []
    extra = [k for k in data if k not in ("targets", "nontargets")]
    if extra and not compat:
        errors.append(ValidationError(path, f"key {excerpt(extra[0])}",
                                      "unknown key (only 'targets' and 'nontargets')"))
    for keyword in data["targets"]:
        if keyword not in keywords:
            errors.append(ValidationError(path, f"keyword {excerpt(keyword)}",
                                          f"unknown keyword (keywords: {keywords})"))
        if len(errors) >= MAX_LISTED:
            break
    raise_all(errors)
    seen: dict[str, str] = {}
    for keyword, ids in list(data["targets"].items()) + [(None, data["nontargets"])]:
        where = f"targets['{keyword}']" if keyword else "nontargets"
        for position, clip in enumerate(ids):
            problem = index.problem(clip, keyword)
            if problem:
                errors.append(ValidationError(path, f"{where}[{position}] {excerpt(clip)}", problem))
                continue
            if clip in seen and not compat:
                errors.append(ValidationError(path, f"{where}[{position}] {excerpt(clip)}",
                                              f"duplicate clip (also at {seen[clip]}): each clip counts once"))
            seen.setdefault(clip, f"{where}[{position}]")
            if len(errors) >= MAX_LISTED:
                raise_all(errors)
    total = sum(len(v) for v in lists)
    if total > budget:
        errors.append(ValidationError(path, f"{total} clips", f"over the budget of {budget}"))
    if total == 0:
        errors.append(ValidationError(path, None, "empty selection: choose at least one clip"))
    raise_all(errors)
    if compat and (not any(data["targets"].values()) or not data["nontargets"]):
        raise ValidationError(path, None, "the original evaluator cannot score a selection without targets "
                              "or without nontargets (np.vstack fails)")
    return {"targets": {k: list(v) for k, v in data["targets"].items()}, "nontargets": list(data["nontargets"])}
