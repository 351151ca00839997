"""Rubrics as data: load, validate, hash and total a rubric YAML file.

The format is described in ``rubrics/README.md``. Every problem in a file is reported at
once, each naming the file, the path to the bad field and what to do about it.

>>> rubric = load_rubric("inclusive-leader")
>>> [c.id for c in rubric.criteria]
['Q1', 'Q2', 'Q3', 'Q4']
>>> rubric.weighted_total({"Q1": 4, "Q2": 3, "Q3": None, "Q4": 5}).complete
False
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import NotFound, Problem, ValidationFailed, WorkbenchError

#: The rubric file format this code reads and writes.
SCHEMA_VERSION = 1

RUBRICS_DIR = Path(os.environ.get("WORKBENCH_RUBRICS", Path(__file__).resolve().parents[1] / "rubrics"))

_SLUG = "^[a-z0-9][a-z0-9-]*$"
_ID = "^[A-Za-z0-9][A-Za-z0-9._-]*$"

SCHEMA_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "id", "title", "kind", "scales", "criteria"],
    "properties": {
        "schema_version": {"type": "integer"},
        "id": {"type": "string", "pattern": _SLUG},
        "title": {"type": "string", "minLength": 1},
        "kind": {"enum": ["award", "unit", "standard"]},
        "source": {"type": "string"},
        "description": {"type": "string"},
        "word_limit": {"type": "integer", "minimum": 1},
        "scales": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["levels"],
                "properties": {
                    "title": {"type": "string"},
                    "levels": {
                        "type": "array",
                        "minItems": 2,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["value", "label"],
                            "properties": {
                                "value": {"type": "integer"},
                                "label": {"type": "string", "minLength": 1},
                                "descriptor": {"type": "string"},
                            },
                        },
                    },
                    "not_scored": {"type": "array", "items": {"type": "string", "minLength": 1}},
                },
            },
        },
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "title"],
                "properties": {"id": {"type": "string", "pattern": _ID}, "title": {"type": "string"}},
            },
        },
        "criteria": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "text", "scale"],
                "properties": {
                    "id": {"type": "string", "pattern": _ID},
                    "title": {"type": "string"},
                    "text": {"type": "string", "minLength": 1},
                    "section": {"type": "string"},
                    "weight": {"type": "number"},
                    "scale": {"type": "string"},
                    "guidance": {"type": "string"},
                    "indicators": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id", "text"],
                            "properties": {
                                "id": {"type": "string", "pattern": _ID},
                                "text": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        },
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "text"],
                "properties": {"id": {"type": "string", "pattern": _ID}, "text": {"type": "string"}},
            },
        },
        "guidance": {"type": "array", "items": {"type": "string"}},
        "outcome": {
            "type": "object",
            "additionalProperties": False,
            "required": ["rule", "threshold"],
            "properties": {
                "rule": {"enum": ["all-at-least", "weighted-percent-at-least"]},
                "threshold": {"type": "number"},
                "pass_label": {"type": "string"},
                "fail_label": {"type": "string"},
            },
        },
    },
}

#: Upgraders from an older schema version to the next one: {old_version: function}.
#: Version 1 is the first; add ``_upgrade_v1_to_v2`` here when the format changes.
UPGRADES: dict[int, Any] = {}


class RubricError(ValidationFailed):
    """A rubric file has problems; every one is listed."""


class RubricChanged(WorkbenchError):
    """A round's rubric was edited after scoring began."""


@dataclass(frozen=True)
class Level:
    value: int
    label: str
    descriptor: str = ""


@dataclass(frozen=True)
class Scale:
    id: str
    title: str
    levels: tuple[Level, ...]
    not_scored: tuple[str, ...] = ()

    @property
    def min(self) -> int:
        return self.levels[0].value

    @property
    def max(self) -> int:
        return self.levels[-1].value

    @property
    def values(self) -> list[int]:
        return [level.value for level in self.levels]

    def label_for(self, value: float | None) -> str:
        """The level label for a value, or the first not-scored label for ``None``."""
        if value is None:
            return self.not_scored[0] if self.not_scored else "Not scored"
        for level in self.levels:
            if level.value == value:
                return level.label
        raise ValueError(f"{value} is not on the scale {self.describe()}")

    def describe(self) -> str:
        if all(level.label == str(level.value) for level in self.levels):
            return f"{self.min}–{self.max}"
        return ", ".join(f"{level.value} = {level.label}" for level in self.levels)

    def parse(self, raw: Any, *, criterion: str = "") -> int | None:
        """Turn a typed value or a level label into a scale value; ``None`` means not scored.

        >>> s = Scale("s", "", (Level(0, "Not met"), Level(1, "Met")), ("Not assessed",))
        >>> s.parse("met"), s.parse(0), s.parse("Not assessed"), s.parse("")
        (1, 0, None, None)
        """
        where = f" for {criterion}" if criterion else ""
        if raw is None or (isinstance(raw, float) and raw != raw):
            return None
        if isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
            folded = text.casefold()
            if folded in {label.casefold() for label in self.not_scored}:
                return None
            for level in self.levels:
                if level.label.casefold() == folded:
                    return level.value
            try:
                raw = float(text)
            except ValueError:
                raise ScoreError(
                    f"{text!r}{where} is not a score on this scale. Use one of: {self.describe()}."
                ) from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ScoreError(f"{raw!r}{where} is not a score. Use one of: {self.describe()}.")
        if float(raw) != int(raw) or int(raw) not in self.values:
            raise ScoreError(
                f"{raw:g}{where} is not on the scale. Use a whole number from {self.min} to {self.max}"
                f" ({self.describe()})."
            )
        return int(raw)


class ScoreError(WorkbenchError):
    """A score is not on the criterion's scale."""


@dataclass(frozen=True)
class Indicator:
    id: str
    text: str


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    text: str
    scale: Scale
    weight: float = 1.0
    section: str | None = None
    guidance: str = ""
    indicators: tuple[Indicator, ...] = ()


@dataclass(frozen=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class Check:
    id: str
    text: str


@dataclass(frozen=True)
class Outcome:
    rule: str
    threshold: float
    pass_label: str = "Pass"
    fail_label: str = "Refer"


@dataclass(frozen=True)
class WeightedTotal:
    """A weighted total that never counts an unscored criterion as zero.

    ``total`` and ``percent`` are ``None`` until every criterion is scored;
    ``partial_total`` sums only the criteria scored so far.
    """

    total: float | None
    partial_total: float
    max_total: float
    percent: float | None
    complete: bool
    scored: tuple[str, ...]
    missing: tuple[str, ...]

    def describe(self) -> str:
        if self.complete:
            return f"{self.total:g} of {self.max_total:g}"
        return f"incomplete: {len(self.missing)} criterion(s) not scored yet ({', '.join(self.missing)})"


@dataclass(frozen=True)
class OutcomeResult:
    label: str | None
    passed: bool | None
    reason: str


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    kind: str
    criteria: tuple[Criterion, ...]
    scales: Mapping[str, Scale]
    hash: str
    source: str = ""
    description: str = ""
    word_limit: int = 500
    sections: tuple[Section, ...] = ()
    checks: tuple[Check, ...] = ()
    guidance: tuple[str, ...] = ()
    outcome: Outcome | None = None
    path: str = ""
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        known = ", ".join(c.id for c in self.criteria)
        raise NotFound(f"The rubric {self.id!r} has no criterion {criterion_id!r}. Its criteria are: {known}.")

    @property
    def criterion_ids(self) -> list[str]:
        return [c.id for c in self.criteria]

    def parse_score(self, criterion_id: str, raw: Any) -> int | None:
        """Check a score against the criterion's scale; labels such as "Met" are accepted."""
        return self.criterion(criterion_id).scale.parse(raw, criterion=criterion_id)

    def weighted_total(self, scores: Mapping[str, float | None]) -> WeightedTotal:
        """Weighted total of one judge's (or one aggregate's) criterion scores.

        Rules: total = sum(weight x score); a missing or ``None`` score makes the total
        incomplete (``total is None``), it is never counted as 0; ``percent`` places the total
        between the lowest and highest possible totals; unknown criteria are an error.

        >>> r = load_rubric("inclusive-leader")
        >>> r.weighted_total({"Q1": 5, "Q2": 5, "Q3": 0, "Q4": 0}).percent
        50.0
        """
        unknown = sorted(set(scores) - set(self.criterion_ids))
        if unknown:
            raise NotFound(f"Scores given for criteria not in rubric {self.id!r}: {', '.join(unknown)}.")
        partial = low = high = 0.0
        scored, missing = [], []
        for c in self.criteria:
            low += c.weight * c.scale.min
            high += c.weight * c.scale.max
            value = scores.get(c.id)
            if value is None or value != value:  # None or NaN
                missing.append(c.id)
                continue
            if not (c.scale.min <= value <= c.scale.max):
                raise ScoreError(f"{value:g} for {c.id} is outside the scale ({c.scale.describe()}).")
            partial += c.weight * float(value)
            scored.append(c.id)
        complete = not missing
        percent = round(100.0 * (partial - low) / (high - low), 10) if complete and high > low else None
        return WeightedTotal(
            total=partial if complete else None,
            partial_total=partial,
            max_total=high,
            percent=percent,
            complete=complete,
            scored=tuple(scored),
            missing=tuple(missing),
        )

    def outcome_for(self, scores: Mapping[str, float | None]) -> OutcomeResult:
        """Apply the rubric's written pass rule; incomplete marking gives no outcome."""
        if self.outcome is None:
            return OutcomeResult(None, None, f"The rubric {self.id!r} has no pass rule.")
        total = self.weighted_total(scores)
        if not total.complete:
            return OutcomeResult(None, None, f"No outcome yet: {total.describe()}.")
        rule = self.outcome
        if rule.rule == "all-at-least":
            below = [c.id for c in self.criteria if scores[c.id] < rule.threshold]
            if below:
                scale = self.criteria[0].scale
                need = scale.label_for(rule.threshold) if rule.threshold in scale.values else f"{rule.threshold:g}"
                return OutcomeResult(rule.fail_label, False, f"Below {need} on: {', '.join(below)}.")
            return OutcomeResult(rule.pass_label, True, "Every criterion reaches the required level.")
        if total.percent >= rule.threshold:
            return OutcomeResult(rule.pass_label, True, f"{total.percent:.1f}% reaches {rule.threshold:g}%.")
        return OutcomeResult(rule.fail_label, False, f"{total.percent:.1f}% is below {rule.threshold:g}%.")


def content_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the rubric's content; comments, key order and layout do not change it."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _format_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_node(path) -> dict:
    """The schema that applies at a document path (for listing allowed keys)."""
    node = SCHEMA_V1
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        elif "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        else:
            node = node.get("additionalProperties", {}) if isinstance(node.get("additionalProperties"), dict) else {}
    return node


def _schema_problems(document: Any, file: str) -> list[Problem]:
    import jsonschema  # imported here: it costs about a second of start-up for every command

    validator = jsonschema.Draft202012Validator(SCHEMA_V1)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        path = _format_path(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(_schema_node(error.absolute_path).get("properties", {}))
            extra = sorted(set(error.instance) - set(allowed))
            for key in extra:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                problems.append(
                    Problem(file, _format_path([*error.absolute_path, key]),
                            f"unknown key {key!r}.{hint} Allowed keys here: {', '.join(allowed)}.")
                )
        elif error.validator == "required":
            problems.append(Problem(file, path or "(top level)", f"{error.message}; add it."))
        elif error.validator == "pattern":
            problems.append(Problem(file, path, f"{error.instance!r} is not a valid id: use letters, digits, '-', '_' "
                                    "or '.' (rubric ids: lower-case letters, digits and hyphens)."))
        elif error.validator == "enum":
            options = ", ".join(map(str, error.validator_value))
            problems.append(Problem(file, path, f"{error.instance!r} is not allowed; use one of: {options}."))
        elif error.validator == "type":
            problems.append(Problem(file, path, f"{error.instance!r} should be {error.validator_value}."))
        elif error.validator in {"minItems", "minProperties", "minLength"}:
            problems.append(Problem(file, path, "is empty; fill it in."))
        else:
            problems.append(Problem(file, path, error.message))
    return problems


def _duplicates(items, what: str, path: str, file: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        key = item["id"]
        if key in seen:
            problems.append(Problem(file, f"{path}[{index}].id",
                                    f"duplicate {what} id {key!r} (also at {path}[{seen[key]}]); give each a unique id."))
        else:
            seen[key] = index
    return problems


def _semantic_problems(doc: dict, file: str) -> list[Problem]:
    problems: list[Problem] = []
    scales = doc.get("scales") if isinstance(doc.get("scales"), dict) else {}
    for name, scale in scales.items():
        levels = scale.get("levels") if isinstance(scale, dict) else None
        if not isinstance(levels, list):
            continue
        values = [lv.get("value") for lv in levels if isinstance(lv, dict) and isinstance(lv.get("value"), int)]
        if len(values) != len(levels):
            continue
        where = f"scales.{name}.levels"
        if len(set(values)) != len(values):
            dup = sorted({v for v in values if values.count(v) > 1})
            problems.append(Problem(file, where, f"the value(s) {dup} appear more than once; each level needs its own value."))
        elif values != sorted(values):
            problems.append(Problem(file, where, "levels must be listed from the lowest value to the highest."))
        elif values != list(range(values[0], values[0] + len(values))):
            gaps = sorted(set(range(values[0], values[-1] + 1)) - set(values))
            problems.append(Problem(file, where, f"the scale has a gap: no level for {', '.join(map(str, gaps))}. "
                                    "Add the missing level(s) or renumber so the values run without gaps."))
        labels = [lv.get("label", "").casefold() for lv in levels if isinstance(lv, dict)]
        for label in scale.get("not_scored", []) if isinstance(scale.get("not_scored"), list) else []:
            if isinstance(label, str) and label.casefold() in labels:
                problems.append(Problem(file, f"scales.{name}.not_scored",
                                        f"{label!r} is both a level and a not-scored label; keep it in one place."))
    sections = doc.get("sections") if isinstance(doc.get("sections"), list) else []
    section_ids = {s.get("id") for s in sections if isinstance(s, dict)}
    problems += _duplicates(sections, "section", "sections", file)
    criteria = doc.get("criteria") if isinstance(doc.get("criteria"), list) else []
    problems += _duplicates(criteria, "criterion", "criteria", file)
    indicator_seen: dict[str, str] = {}
    for index, crit in enumerate(criteria):
        if not isinstance(crit, dict):
            continue
        where = f"criteria[{index}]"
        weight = crit.get("weight", 1)
        if isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight <= 0:
            problems.append(Problem(file, f"{where}.weight", f"the weight is {weight}; weights must be positive (e.g. 1)."))
        scale = crit.get("scale")
        if isinstance(scale, str) and scale not in scales:
            known = ", ".join(scales) or "none defined"
            problems.append(Problem(file, f"{where}.scale", f"no scale called {scale!r}; use one of: {known}."))
        section = crit.get("section")
        if isinstance(section, str) and section not in section_ids:
            problems.append(Problem(file, f"{where}.section", f"no section called {section!r}; add it under `sections` "
                                    "or fix the spelling."))
        for j, ind in enumerate(crit.get("indicators", []) if isinstance(crit.get("indicators"), list) else []):
            if isinstance(ind, dict) and isinstance(ind.get("id"), str):
                if ind["id"] in indicator_seen:
                    problems.append(Problem(file, f"{where}.indicators[{j}].id",
                                            f"duplicate indicator id {ind['id']!r} (also at {indicator_seen[ind['id']]})."))
                else:
                    indicator_seen[ind["id"]] = f"{where}.indicators[{j}]"
    problems += _duplicates(doc.get("checks", []) if isinstance(doc.get("checks"), list) else [], "check", "checks", file)
    outcome = doc.get("outcome")
    if isinstance(outcome, dict) and outcome.get("rule") == "all-at-least" and criteria:
        used = {c.get("scale") for c in criteria if isinstance(c, dict)}
        if len(used) > 1:
            problems.append(Problem(file, "outcome.rule", "all-at-least needs every criterion on the same scale."))
    return problems


def _upgrade(document: dict, file: str) -> dict:
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise RubricError([Problem(file, "schema_version", f"add `schema_version: {SCHEMA_VERSION}` at the top of the file.")])
    if version > SCHEMA_VERSION:
        raise RubricError([Problem(file, "schema_version", f"this file uses format version {version}, but this workbench "
                                   f"reads up to version {SCHEMA_VERSION}. Upgrade the workbench.")])
    doc = copy.deepcopy(document)
    while doc["schema_version"] < SCHEMA_VERSION:
        if doc["schema_version"] not in UPGRADES:
            raise RubricError([Problem(file, "schema_version", f"format version {doc['schema_version']} is too old and "
                                       "cannot be upgraded automatically.")])
        doc = UPGRADES[doc["schema_version"]](doc)
    return doc


def validate_document(document: Any, *, file: str = "<rubric>") -> list[Problem]:
    """Every problem in a parsed rubric document (empty when valid)."""
    if not isinstance(document, dict):
        return [Problem(file, "", "the file should hold a YAML mapping (key: value lines), not a list or plain text.")]
    try:
        document = _upgrade(document, file)
    except RubricError as exc:
        return exc.problems
    problems = _schema_problems(document, file) + _semantic_problems(document, file)
    return sorted(problems, key=lambda p: _natural_key(p.path))


def _natural_key(path: str) -> list:
    """Sort ``criteria[2]`` before ``criteria[10]``."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in re.split(r"(\d+)", path)]


def rubric_from_document(document: Any, *, file: str = "<rubric>") -> Rubric:
    """Build a validated :class:`Rubric` from a parsed document, or raise :class:`RubricError`."""
    problems = validate_document(document, file=file)
    if problems:
        raise RubricError(problems)
    doc = _upgrade(document, file)
    scales = {
        name: Scale(
            id=name,
            title=s.get("title", name),
            levels=tuple(Level(lv["value"], lv["label"], lv.get("descriptor", "")) for lv in s["levels"]),
            not_scored=tuple(s.get("not_scored", [])),
        )
        for name, s in doc["scales"].items()
    }
    criteria = tuple(
        Criterion(
            id=c["id"],
            title=c.get("title", c["id"]),
            text=c["text"],
            scale=scales[c["scale"]],
            weight=float(c.get("weight", 1)),
            section=c.get("section"),
            guidance=c.get("guidance", ""),
            indicators=tuple(Indicator(i["id"], i["text"]) for i in c.get("indicators", [])),
        )
        for c in doc["criteria"]
    )
    outcome = doc.get("outcome")
    return Rubric(
        id=doc["id"],
        title=doc["title"],
        kind=doc["kind"],
        criteria=criteria,
        scales=scales,
        hash=content_hash(doc),
        source=doc.get("source", ""),
        description=doc.get("description", ""),
        word_limit=doc.get("word_limit", 500),
        sections=tuple(Section(s["id"], s["title"]) for s in doc.get("sections", [])),
        checks=tuple(Check(c["id"], c["text"]) for c in doc.get("checks", [])),
        guidance=tuple(doc.get("guidance", [])),
        outcome=Outcome(outcome["rule"], float(outcome["threshold"]), outcome.get("pass_label", "Pass"),
                        outcome.get("fail_label", "Refer")) if outcome else None,
        path=file,
        document=doc,
    )


#: PyYAML's safe loader, in C (libyaml) when it is there: the same documents, parsed several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, *, not_found: str, error: type[ValidationFailed] = ValidationFailed) -> Any:
    """Parse a YAML data file; a missing, non-UTF-8 or malformed file raises an error that says what to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(not_found) from None
    except UnicodeDecodeError as exc:
        raise error([Problem(str(path), "", f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8.")]) from None
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error([Problem(str(path), where, f"this is not valid YAML ({problem}). Check indentation and "
                             "quotes around text containing ':' or '#'.")]) from None


def _read_yaml(path: Path) -> Any:
    return read_yaml(path, error=RubricError, not_found=f"No rubric file at {path}. Check the path, or use one of: "
                                                        f"{', '.join(available_rubrics())}.")


def resolve_rubric_path(name_or_path: str | os.PathLike) -> Path:
    """A rubric name such as ``inclusive-leader`` or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    return RUBRICS_DIR / f"{name_or_path}.yaml"


def load_rubric(name_or_path: str | os.PathLike) -> Rubric:
    """Load and validate a rubric by name (from ``rubrics/``) or by path."""
    path = resolve_rubric_path(name_or_path)
    return rubric_from_document(_read_yaml(path), file=str(path))


def check_rubric_file(path: str | os.PathLike) -> list[Problem]:
    """Every problem in a rubric file; an empty list means it is valid."""
    try:
        document = _read_yaml(Path(path))
    except RubricError as exc:
        return exc.problems
    return validate_document(document, file=str(path))


def available_rubrics() -> list[str]:
    return sorted(p.stem for p in RUBRICS_DIR.glob("*.yaml"))


def ensure_same_rubric(*, expected_hash: str, rubric: Rubric, round_name: str = "this round") -> None:
    """Refuse a rubric whose content changed since scoring began, unless migrated."""
    if rubric.hash != expected_hash:
        raise RubricChanged(
            f"The rubric {rubric.id!r} has changed since {round_name} started (stored version "
            f"{expected_hash[:12]}, file now {rubric.hash[:12]}). Scores would no longer match their "
            "descriptors. Undo the edit, or migrate the round explicitly with "
            "`workbench round migrate-rubric`."
        )


