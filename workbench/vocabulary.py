"""The equality vocabulary: protected characteristics, types of discrimination, and a matcher.

The words live in ``rubrics/vocabulary/equality.yaml`` (one entry per protected characteristic
of the Equality Act 2010 and per type of discrimination, each with the synonyms people use in
UK health and social care). :func:`find_mentions` finds them in a piece of text:

>>> [(m.term_id, m.matched_text) for m in find_mentions("She set up the B.A.M.E and LGBTQ+ networks.")]
[('race', 'B.A.M.E'), ('sexual-orientation', 'LGBTQ+')]
>>> [m.term_id for m in find_mentions("Two wheelchair users joined; transport was arranged.")]
['disability']

Matching is case-insensitive and on whole words or phrases only ("page" never matches "age",
"transport" never matches "trans"). A plural is found too ("wheelchair users", "ethnic
minorities"); a space in a phrase also matches a hyphen, and a hyphen also matches a space
or nothing ("non-binary", "non binary", "nonbinary"); an upper-case abbreviation also matches
with dots ("B.A.M.E"). Where phrases overlap, the longest wins ("gender identity" is
gender reassignment, "gender" alone is sex).
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from workbench.errors import NotFound, Problem, ValidationFailed

#: The vocabulary file format this code reads.
SCHEMA_VERSION = 1

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "rubrics" / "vocabulary" / "equality.yaml"

PROTECTED_CHARACTERISTIC = "protected_characteristic"
DISCRIMINATION_TYPE = "discrimination_type"

#: The nine protected characteristics of the Equality Act 2010, as ids in the vocabulary file.
PROTECTED_CHARACTERISTICS = (
    "age", "disability", "gender-reassignment", "marriage-civil-partnership", "pregnancy-maternity",
    "race", "religion-belief", "sex", "sexual-orientation",
)
#: The types of discrimination the Act covers, as ids in the vocabulary file.
DISCRIMINATION_TYPES = ("direct", "associative", "perception", "indirect", "harassment", "victimisation")

# section name in the file -> (kind, expected ids, the key holding the long text, allowed keys)
_SECTIONS = {
    "protected_characteristics": (PROTECTED_CHARACTERISTIC, PROTECTED_CHARACTERISTICS, "description",
                                  ("id", "label", "description", "synonyms", "monitoring_headers")),
    "discrimination_types": (DISCRIMINATION_TYPE, DISCRIMINATION_TYPES, "definition",
                             ("id", "label", "definition", "synonyms")),
}
_TOP_LEVEL_KEYS = ("schema_version", "kind", "id", "title", "source", "description",
                   "protected_characteristics", "discrimination_types")


@dataclass(frozen=True)
class Term:
    """One protected characteristic or type of discrimination and the words for it."""

    id: str
    kind: str
    label: str
    description: str
    synonyms: tuple[str, ...] = ()
    monitoring_headers: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        """Everything that counts as a mention: the label, then the synonyms."""
        return (self.label, *self.synonyms)


@dataclass(frozen=True)
class Mention:
    """Where a term is mentioned: ``text[start:end] == matched_text``."""

    term_id: str
    kind: str
    matched_text: str
    start: int
    end: int


@dataclass(frozen=True)
class Vocabulary:
    """A validated vocabulary file. Build it with :func:`load_vocabulary`."""

    terms: tuple[Term, ...]
    path: str = ""
    _matchers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def term(self, term_id: str) -> Term:
        for term in self.terms:
            if term.id == term_id:
                return term
        raise NotFound(f"The vocabulary has no term {term_id!r}. Its terms are: {', '.join(t.id for t in self.terms)}.")

    def terms_of_kind(self, kind: str) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.kind == kind)

    def find_mentions(self, text: str) -> list[Mention]:
        """Every mention in ``text``, in order of position. See :func:`find_mentions`."""
        matchers = [(kind, *self._matcher(kind)) for kind in (PROTECTED_CHARACTERISTIC, DISCRIMINATION_TYPE)]
        mentions: list[Mention] = []
        resume = dict.fromkeys((kind for kind, _, _ in matchers), 0)  # no match starts inside an earlier one
        for word in _WORD_START.finditer(text):
            start = word.start()
            first = text[start].lower()
            for kind, patterns, group_terms in matchers:
                pattern = patterns.get(first)
                if pattern is None or start < resume[kind]:
                    continue
                match = pattern.match(text, start)
                if match:
                    mentions.append(Mention(group_terms[match.lastgroup], kind, match.group(), start, match.end()))
                    resume[kind] = match.end()
        mentions.sort(key=lambda m: (m.start, m.kind))
        return mentions

    def _matcher(self, kind: str) -> tuple[dict[str, re.Pattern], dict[str, str]]:
        if kind not in self._matchers:
            self._matchers[kind] = _compile(self.terms_of_kind(kind))
        return self._matchers[kind]


_WORD_START = re.compile(r"(?<!\w)\w")


def _phrase_regex(phrase: str) -> str:
    """A regular expression for one phrase (without the word boundaries)."""
    # Tokens: words (letters, digits, apostrophes, '+', '&', '.', ',') separated by spaces or hyphens.
    pieces = [p for p in re.split(r"(\s+|[-‐‑])", phrase.strip()) if p]
    out = []
    for index, piece in enumerate(pieces):
        if piece.isspace():
            out.append(r"[\s\-‐‑]+")
        elif piece in "-‐‑":
            out.append(r"[\s\-‐‑]?")
        else:
            out.append(_word_regex(piece, plural=index == len(pieces) - 1))
    return "".join(out)


def _word_regex(word: str, *, plural: bool) -> str:
    acronym = re.fullmatch(r"([A-Z]{2,7})(\+?)", word)
    if acronym:
        letters, plus = acronym.groups()
        body = r"\.?".join(letters) + (r"\+" if plus else "")
        return body + ("s?" if plural and not plus else "")
    body = re.escape(word)
    if not plural or not word[-1].isalpha() or word[-1] in "sS":
        return body
    if len(word) > 2 and word[-1] in "yY" and word[-2].lower() not in "aeiou":
        return re.escape(word[:-1]) + "(?:y|ies)"
    return body + "(?:e?s)?"


def _compile(terms: tuple[Term, ...]) -> tuple[dict[str, re.Pattern], dict[str, str]]:
    """Per kind, one alternation for each first letter (so a word is tried only against the
    phrases that can start with it), longer phrases first so the longest phrase wins."""
    phrases = sorted(((phrase.strip(), term.id) for term in terms for phrase in term.phrases),
                     key=lambda item: -len(item[0]))
    alternatives: dict[str, list[str]] = {}
    group_terms: dict[str, str] = {}
    for index, (phrase, term_id) in enumerate(phrases):
        name = f"t{index}"
        group_terms[name] = term_id
        alternatives.setdefault(phrase[0].lower(), []).append(f"(?P<{name}>{_phrase_regex(phrase)})")
    patterns = {first: re.compile("(?:" + "|".join(alts) + r")(?![\w+])", re.IGNORECASE)
                for first, alts in alternatives.items()}
    return patterns, group_terms


# --- loading and validation ---------------------------------------------------------------


def _norm(phrase: str) -> str:
    return re.sub(r"[\s\-‐‑]+", " ", phrase.strip().lower())


def _check_text(value: Any, file: str, path: str, what: str) -> list[Problem]:
    if not isinstance(value, str) or not value.strip():
        return [Problem(file, path, f"{what} is missing or empty; write it as text in quotes.")]
    return []


def _check_phrase_list(value: Any, file: str, path: str, *, phrase: bool) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [Problem(file, path, "should be a list, one entry per line starting with '- '.")]
    problems = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.append(Problem(file, f"{path}[{index}]", f"{item!r} is not a word or phrase; write it as text "
                                    "in quotes, or delete the line."))
        elif phrase and not re.search(r"\w", item):
            problems.append(Problem(file, f"{path}[{index}]", f"{item!r} has no letters or digits, so it can never "
                                    "be found; write a word or phrase."))
    return problems


def _section_problems(document: dict, section: str, file: str) -> list[Problem]:
    kind, expected, long_key, allowed = _SECTIONS[section]
    entries = document.get(section)
    if entries is None:
        return [Problem(file, section, f"is missing; add the list {section} ({', '.join(expected)}).")]
    if not isinstance(entries, list):
        return [Problem(file, section, "should be a list of entries, each starting with '- id: ...'.")]
    problems: list[Problem] = []
    seen_ids: dict[str, int] = {}
    seen_phrases: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"{section}[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(file, where, "should be an entry with id, label and synonyms."))
            continue
        for key in entry:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                problems.append(Problem(file, f"{where}.{key}", f"unknown key {key!r}.{hint} "
                                        f"Allowed keys here: {', '.join(allowed)}."))
        term_id = entry.get("id")
        if not isinstance(term_id, str) or not term_id:
            problems.append(Problem(file, f"{where}.id", f"is missing; use one of: {', '.join(expected)}."))
        elif term_id in seen_ids:
            problems.append(Problem(file, f"{where}.id", f"duplicate id {term_id!r} (also at "
                                    f"{section}[{seen_ids[term_id]}]); keep one entry per id."))
        elif term_id not in expected:
            close = difflib.get_close_matches(term_id, expected, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(file, f"{where}.id", f"{term_id!r} is not one of the {len(expected)} ids "
                                    f"here.{hint} Use one of: {', '.join(expected)}."))
        else:
            seen_ids[term_id] = index
        problems += _check_text(entry.get("label"), file, f"{where}.label", "the label")
        problems += _check_text(entry.get(long_key), file, f"{where}.{long_key}", f"the {long_key}")
        if "synonyms" not in entry:
            problems.append(Problem(file, f"{where}.synonyms", "is missing; add a list of synonyms (it may be "
                                    "empty: synonyms: [])."))
        problems += _check_phrase_list(entry.get("synonyms"), file, f"{where}.synonyms", phrase=True)
        if "monitoring_headers" in allowed:
            problems += _check_phrase_list(entry.get("monitoring_headers"), file, f"{where}.monitoring_headers",
                                           phrase=False)
        owner = term_id if isinstance(term_id, str) else where
        phrases = [("label", entry.get("label"))]
        if isinstance(entry.get("synonyms"), list):
            phrases += [(f"synonyms[{i}]", s) for i, s in enumerate(entry["synonyms"])]
        for sub, phrase in phrases:
            if not isinstance(phrase, str) or not phrase.strip():
                continue
            key = _norm(phrase)
            if key in seen_phrases and seen_phrases[key] != owner:
                problems.append(Problem(file, f"{where}.{sub}", f"{phrase!r} is also listed under "
                                        f"{seen_phrases[key]!r}; a phrase can belong to one entry only."))
            seen_phrases.setdefault(key, owner)
    missing = [i for i in expected if i not in seen_ids]
    if missing and not any(p.path.endswith(".id") for p in problems):
        problems.append(Problem(file, section, f"has no entry for {', '.join(missing)}; add one for each "
                                f"(all {len(expected)} are needed)."))
    elif missing:
        problems.append(Problem(file, section, f"has no entry for {', '.join(missing)}."))
    return problems


def validate_document(document: Any, *, file: str = "<vocabulary>") -> list[Problem]:
    """Every problem in a vocabulary document (already parsed from YAML); empty means valid.

    >>> [p.message for p in validate_document({"schema_version": 1, "kind": "rubric"}, file="v.yaml")][:1]
    ["'rubric' is not allowed; use kind: vocabulary."]
    """
    if not isinstance(document, dict):
        return [Problem(file, "", "the file should be a YAML mapping starting with 'schema_version: 1'.")]
    problems: list[Problem] = []
    version = document.get("schema_version")
    if version is None:
        problems.append(Problem(file, "schema_version", f"is missing; add 'schema_version: {SCHEMA_VERSION}'."))
    elif not isinstance(version, int) or isinstance(version, bool):
        problems.append(Problem(file, "schema_version",
                                f"{version!r} should be a whole number, e.g. {SCHEMA_VERSION}."))
    elif version > SCHEMA_VERSION:
        problems.append(Problem(file, "schema_version", f"version {version} is newer than this workbench reads "
                                f"({SCHEMA_VERSION}); update the workbench."))
    elif version < 1:
        problems.append(Problem(file, "schema_version", f"{version} is not a version; use {SCHEMA_VERSION}."))
    kind = document.get("kind")
    if kind != "vocabulary":
        problems.append(Problem(file, "kind", "is missing; add 'kind: vocabulary'." if kind is None
                                else f"{kind!r} is not allowed; use kind: vocabulary."))
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(str(key), _TOP_LEVEL_KEYS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(file, str(key), f"unknown key {key!r}.{hint} Allowed keys: "
                                    f"{', '.join(_TOP_LEVEL_KEYS)}."))
    for section in _SECTIONS:
        problems += _section_problems(document, section, file)
    return problems


def vocabulary_from_document(document: Any, *, file: str = "<vocabulary>") -> Vocabulary:
    """A :class:`Vocabulary` from a parsed document; raises ``ValidationFailed`` with every problem."""
    problems = validate_document(document, file=file)
    if problems:
        raise ValidationFailed(problems)
    terms = []
    for section, (kind, _expected, long_key, _allowed) in _SECTIONS.items():
        for entry in document[section]:
            terms.append(Term(
                id=entry["id"], kind=kind, label=entry["label"].strip(), description=" ".join(entry[long_key].split()),
                synonyms=tuple(s.strip() for s in entry.get("synonyms") or ()),
                monitoring_headers=tuple(h.strip() for h in entry.get("monitoring_headers") or ()),
            ))
    return Vocabulary(terms=tuple(terms), path=file)


def _read_yaml(path: Path) -> Any:
    from workbench.rubric import read_yaml

    return read_yaml(path, not_found=f"No vocabulary file at {path}. Check the path; the shipped one is {DEFAULT_PATH}.")


def load_vocabulary(path: str | Path = DEFAULT_PATH) -> Vocabulary:
    """Load and validate a vocabulary file (by default the shipped ``equality.yaml``).

    >>> vocabulary = load_vocabulary()
    >>> len(vocabulary.terms_of_kind("protected_characteristic")), vocabulary.term("race").label
    (9, 'Race')
    """
    path = Path(path)
    if path == DEFAULT_PATH:
        return _default_vocabulary()
    return vocabulary_from_document(_read_yaml(path), file=str(path))


@functools.lru_cache(maxsize=1)
def _default_vocabulary() -> Vocabulary:
    return vocabulary_from_document(_read_yaml(DEFAULT_PATH), file=str(DEFAULT_PATH))


def find_mentions(text: str, *, vocabulary: Vocabulary | None = None) -> list[Mention]:
    """Mentions of protected characteristics and types of discrimination in ``text``, in order.

    Uses the shipped vocabulary unless you pass one.

    >>> [(m.term_id, m.kind, m.start, m.end) for m in find_mentions("Staff faced harassment over their age.")]
    [('harassment', 'discrimination_type', 12, 22), ('age', 'protected_characteristic', 34, 37)]
    """
    return (vocabulary or _default_vocabulary()).find_mentions(text)


def main(argv: list[str] | None = None) -> int:
    """``python -m workbench.vocabulary [FILE]``: check a vocabulary file and print every problem."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    try:
        vocabulary = vocabulary_from_document(_read_yaml(path), file=str(path))
    except (ValidationFailed, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    phrases = sum(len(t.phrases) for t in vocabulary.terms)
    print(f"{path}: OK ({len(vocabulary.terms)} terms, {phrases} phrases)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
