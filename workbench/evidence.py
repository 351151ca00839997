"""Evidence insight for judges: where an answer evidences the rubric's indicators.

An **aid to reading, never a score.** For one answer it finds:

- the rubric indicators the answer evidences, each with the model's confidence (0-1) and the
  supporting sentences with their character offsets, so the app can highlight them;
- mentions of the protected characteristics and types of discrimination
  (:mod:`workbench.vocabulary`);
- sentences with concrete outcome evidence (figures, percentages, before-and-after comparisons,
  surveys and audits, named programmes, quoted feedback) and sentences that make strong claims
  with nothing specific behind them;
- the word count against the limit.

Nothing leaves the machine and nothing is downloaded. The model (TF-IDF word and character
n-grams and one logistic regression per indicator, trained against the other sentences written
for the same question) trains at first use from ``data/evidence_sentences.csv`` in a fraction
of a second and is kept for the life of the process. ``python -m benchmarks.evidence``
measures it against a keyword-matching baseline.

>>> from workbench.rubric import load_rubric
>>> indicators = indicators_from_rubric(load_rubric("inclusive-leader"))
>>> result = analyse_answer(
...     text="She set up a co-production group with the local Deaf club to redesign the clinic. "
...          "Missed appointments fell from 30% to 12%. She is truly amazing.",
...     criterion_id="Q1", indicators=indicators)
>>> for finding in result.evidenced:
...     print(finding.indicator_id, [(s.start, s.end) for s in finding.sentences])
Q1a [(0, 81)]
Q1b [(82, 123)]
>>> [(s.text, s.kinds) for s in result.outcome_evidence]
[('Missed appointments fell from 30% to 12%.', ('percentage', 'comparison'))]
>>> [(s.text, s.claim_words) for s in result.unsupported_claims]
[('She is truly amazing.', ('truly', 'amazing'))]
>>> result.word_count.words, result.word_count.limit, result.word_count.over_limit
(26, 500, False)
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from workbench.errors import NotFound, Problem, ValidationFailed
from workbench.intake.validation import word_count
from workbench.vocabulary import Mention, Vocabulary, find_mentions

#: Shown with every result. The app must display it next to the panel.
DISCLAIMER = (
    "This is an aid to reading, not a score. The highlights were found automatically: they can miss "
    "evidence, and they can highlight sentences that are not evidence. They do not score the answer "
    "and do not suggest a score. Read the whole answer and score it yourself against the rubric."
)

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "evidence_sentences.csv"
DEFAULT_WORD_LIMIT = 500

#: A sentence supports an indicator when the model's confidence reaches this. Chosen by
#: five-fold cross-validation on the training split (see ``data/README.md``).
THRESHOLD = 0.4
#: Inverse regularisation strength of each logistic regression (cross-validated, as above).
REGULARISATION_C = 10.0


class Indicator(NamedTuple):
    """An indicator to look for: ``(id, criterion_id, text)``. Plain 3-tuples work too."""

    id: str
    criterion_id: str
    text: str


def indicators_from_rubric(rubric: Any) -> list[Indicator]:
    """Every indicator of a rubric (anything with ``.criteria[i].id`` and ``.indicators[j].id/.text``)."""
    return [Indicator(i.id, c.id, " ".join(i.text.split())) for c in rubric.criteria for i in c.indicators]


# --- sentences and words --------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """A sentence of an answer: ``answer[start:end] == text``."""

    text: str
    start: int
    end: int


_LINE = re.compile(r"[^\r\n]+")
_BULLET = re.compile(r"\s*(?:[•·▪‣◦*\-–—]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
_SENTENCE_END = re.compile(r"[.!?]+[\"'’”)\]]*(?=\s+[\"'‘“(\[]?([\w£]))")
_NOT_AN_END = re.compile(r"(?:\b(?:e\.g|i\.e|etc|Dr|Mr|Mrs|Ms|Prof|St|No|approx|vs|cf)|(?<![\w.])[A-Z])\.$")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with exact offsets. Line breaks and bullets end a sentence too.

    >>> [(s.text, s.start) for s in split_sentences("Hello Dr. Lee.\\n• Two\\nThree (e.g. X). Łucja? i.e. no")]
    [('Hello Dr. Lee.', 0), ('Two', 17), ('Three (e.g. X).', 21), ('Łucja? i.e. no', 37)]
    """
    sentences = []
    for line in _LINE.finditer(text):
        begin = line.start()
        bullet = _BULLET.match(text, begin, line.end())
        if bullet:
            begin = bullet.end()
        for end_match in _SENTENCE_END.finditer(text, begin, line.end()):
            end = end_match.end()
            following = end_match.group(1)  # a new sentence starts with a capital, a digit or '£'
            if following.islower() or _NOT_AN_END.search(text, begin, end_match.start() + 1):
                continue
            sentences.extend(_sentence(text, begin, end))
            begin = end
        sentences.extend(_sentence(text, begin, line.end()))
    return sentences


def _sentence(text: str, start: int, end: int) -> list[Sentence]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end or not any(ch.isalnum() for ch in text[start:end]):
        return []
    return [Sentence(text[start:end], start, end)]


@dataclass(frozen=True)
class WordCount:
    """Words in the answer (counted as the import does) against the rubric's limit."""

    words: int
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.words > self.limit

    @property
    def over_by(self) -> int:
        return max(0, self.words - self.limit)


# --- outcome evidence and unsupported claims --------------------------------------------------

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_PERCENT = re.compile(rf"(?<![\w.]){_NUMBER}\s?%|(?<![\w.]){_NUMBER}\s?(?:per\s?cent|percentage points?)\b", re.I)
_FIGURE = re.compile(rf"(?<![\w./-])£?{_NUMBER}(?:k|m|bn)?\b(?![/:]\d)(?!\s*(?:years?|months?|weeks?|days?|hours?|"
                     r"minutes?|am|pm)\b)", re.I)
_NOT_A_FIGURE = re.compile(r"(?:band|level|year|step|phase|ward|room|bay)\s*$", re.I)
_YEAR = re.compile(r"(?:19|20)\d\d")
_COMPARISON = re.compile("|".join([
    rf"\bfrom\s+£?{_NUMBER}\s?%?[^.;]{{0,30}}?\bto\s+£?{_NUMBER}",
    r"\b(?:up|down)\s+from\b",
    r"\bcompared\s+(?:with|to)\b",
    r"\bbefore\b[^.]{0,80}\bafter\b",
    r"\b(?:doubled|halved|trebled|tripled|quadrupled|(?:two|three|four|five|ten)fold)\b",
    r"\b(?:twice|(?:two|three|four|five|ten)\s+times)\s+(?:as|more|less|higher|lower)\b",
    r"\b(?:rose|risen|rising|fell|fallen|falling|increased|decreased|dropped|reduced|cut|improved|narrowed|grew|"
    r"went\s+(?:up|down)|come\s+down|came\s+down)\b[^.;]{0,40}?\b(?:from|by)\s+(?:£?\d|a\s+(?:third|quarter|fifth|"
    r"half)|half|nearly|almost|over|more\s+than)",
    r"\b(?:gap|difference)\b[^.;]{0,80}\b(?:narrowed|closed|halved|shrunk|shrank|fallen|fell)\b",
    r"\bnow\s+(?:just\s+)?(?:as\s+(?:likely|able|quickly)|the\s+same|in\s+line\s+with|level\s+with|matches)\b",
]), re.I)
_SURVEY = re.compile(r"\b(?:surveys?|surveyed|questionnaires?|friends and family test|audited|evaluated|"
                     r"(?:audit|evaluation|review)s?\b[^.;]{0,50}?\b(?:show(?:s|ed)?|found|finds|rated)|"
                     r"exit interviews?|"
                     r"360[- ]degree|engagement scores?|(?:WRES|WDES) (?:data|figures)|"
                     r"(?:our|the) (?:workforce )?data (?:show|showed)|data show)\b", re.I)
_INITIATIVE_NOUN = (r"(?i:programmes?|programs?|projects?|initiatives?|campaigns?|schemes?|networks?|month|week|"
                    r"fortnight|passports?|toolkits?|charters?|pledges?|standards?|badges?|forums?|academy|"
                    r"pathways?|strateg(?:y|ies)|modules?)")
_NAMED_INITIATIVE = re.compile(rf"\b((?:[A-Z][\w'’&-]*\s+){{1,5}})({_INITIATIVE_NOUN})\b")
_QUOTED = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=\())[‘'“\"](?=\S)((?:[^‘'“\"’”]|(?<=\w)['’](?=\w)){2,300}?)(?<=\S)"
                     r"[’'”\"](?=[\s.,;:!?)]|$)")
_FUNCTION_WORDS = frozenset("a an the her his their our my your its this that these those every each she he they we i "
                            "it in on at of for to and with by as after before when since under through".split())
_CLAIM = re.compile(r"\b(?:always|every single|"
                    r"(?:loved|liked|respected|admired|valued|adored) by (?:everyone|everybody|all)|"
                    r"outstanding|exceptional(?:ly)?|"
                    r"extraordinary|amazing|incredibl[ey]|fantastic|brilliant|wonderful|tireless(?:ly)?|huge(?:ly)?|"
                    r"massive(?:ly)?|enormous(?:ly)?|transform(?:ed|ing|ational|s)?|truly|best|second to none|"
                    r"above and beyond|extra mile|inspir(?:ational|ing|ation)|remarkable|exemplary|unparalleled|"
                    r"unique(?:ly)?|passionate(?:ly)?|revolutioni[sz]ed|game[- ]changer|significant(?:ly)?|"
                    r"dramatic(?:ally)?|completely|totally|world[- ]class|beyond recognition|cannot recommend|"
                    r"no one else|nobody else|deserving|worthy|absolute(?:ly)?|relentless(?:ly)?|"
                    r"lives and breathes|(?:real|big) difference)\b(?!-)", re.I)
# Specifics that keep a strong claim from being "unsupported": an example, or a name (a capitalised
# word after the first, other than "I" and "NHS").
_EXAMPLE = re.compile(r"\b(?:for example|for instance|such as|e\.g\.|including)\b", re.I)
_NAME = re.compile(r"(?<=[\w,;)] )(?!(?:I|NHS)\b)[A-Z][\w'’-]*")

#: What counts as concrete outcome evidence, in the order reported.
OUTCOME_KINDS = ("percentage", "figure", "comparison", "survey", "named-initiative", "quoted-feedback")


@dataclass(frozen=True)
class OutcomeSentence:
    """A sentence with concrete evidence, and which kinds (see :data:`OUTCOME_KINDS`)."""

    text: str
    start: int
    end: int
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class ClaimSentence:
    """A sentence with strong claims and nothing specific to back them up."""

    text: str
    start: int
    end: int
    claim_words: tuple[str, ...]


def _has_figure(sentence: str) -> bool:
    for match in _FIGURE.finditer(sentence):
        number = match.group()
        if _YEAR.fullmatch(number) or _NOT_A_FIGURE.search(sentence, 0, match.start()):
            continue
        return True
    return False


def _named_initiative(sentence: str) -> bool:
    for match in _NAMED_INITIATIVE.finditer(sentence):
        names = [w for w in match.group(1).split() if w.lower().strip("'’") not in _FUNCTION_WORDS]
        # "Black History Month programme", "Rainbow Badge"; not "the local Deaf network"
        if len(names) >= 2 or (names and match.group(2)[0].isupper()):
            return True
    for match in _QUOTED.finditer(sentence):
        words = match.group(1).split()
        if len(words) <= 8 and words[0][0].isupper():
            capitalised = sum(w[0].isupper() for w in words if w.lower() not in _FUNCTION_WORDS)
            content = sum(1 for w in words if w.lower() not in _FUNCTION_WORDS)
            nearby = sentence[match.end():match.end() + 25] + " " + sentence[max(0, match.start() - 25):match.start()]
            if capitalised * 2 >= max(content, 1) or re.search(_INITIATIVE_NOUN, nearby):
                return True
    return False


def _quoted_feedback(sentence: str) -> bool:
    return any(len(m.group(1).split()) >= 5 for m in _QUOTED.finditer(sentence))


def outcome_kinds(sentence: str) -> tuple[str, ...]:
    """The kinds of concrete evidence in one sentence (empty when there are none).

    >>> outcome_kinds("Uptake rose from 41% to 58% in the staff survey.")
    ('percentage', 'comparison', 'survey')
    >>> outcome_kinds("She launched the Black History Month programme in 2019.")
    ('named-initiative',)
    >>> outcome_kinds("She is kind to everyone.")
    ()
    """
    checks = {
        "percentage": lambda s: _PERCENT.search(s) is not None,
        "figure": lambda s: _PERCENT.search(s) is None and _has_figure(s),
        "comparison": lambda s: _COMPARISON.search(s) is not None,
        "survey": lambda s: _SURVEY.search(s) is not None,
        "named-initiative": _named_initiative,
        "quoted-feedback": _quoted_feedback,
    }
    return tuple(kind for kind in OUTCOME_KINDS if checks[kind](sentence))


def claim_words(sentence: str) -> tuple[str, ...]:
    """Strong-claim words in a sentence, as written.

    >>> claim_words("She is truly outstanding and always goes above and beyond.")
    ('truly', 'outstanding', 'always', 'above and beyond')
    """
    return tuple(m.group() for m in _CLAIM.finditer(sentence))


def unsupported_claim(sentence: str) -> tuple[str, ...]:
    """The strong-claim words of a sentence that has nothing specific behind them: no concrete
    evidence (:func:`outcome_kinds`), no example and no name. Empty when the sentence is not one.

    >>> unsupported_claim("She is truly outstanding and always goes above and beyond.")
    ('truly', 'outstanding', 'always', 'above and beyond')
    >>> unsupported_claim("She always challenges bias, for example at the Larkfield huddle.")
    ()
    """
    return _unsupported(sentence, outcome_kinds(sentence))


def _unsupported(sentence: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    if kinds or _EXAMPLE.search(sentence) or _NAME.search(sentence):
        return ()
    return claim_words(sentence)


# --- labelled sentences ---------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledSentence:
    """One row of ``data/evidence_sentences.csv``."""

    sentence: str
    criterion: str
    indicators: tuple[str, ...]
    split: str


_COLUMNS = ("sentence", "criterion", "indicators", "split")
_INDICATOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def read_labelled_sentences(path: str | Path = DEFAULT_DATA) -> list[LabelledSentence]:
    """The labelled sentences, every problem reported at once.

    >>> rows = read_labelled_sentences()
    >>> len(rows) >= 200, sorted({r.split for r in rows})
    (True, ['test', 'train'])
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            raw = list(reader)
    except FileNotFoundError:
        raise NotFound(f"No labelled sentences at {path}; the shipped file is {DEFAULT_DATA}.") from None
    file = str(path)
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ValidationFailed([Problem(file, "header", f"missing column(s) {', '.join(missing)}; the columns are "
                                        f"{', '.join(_COLUMNS)}.")])
    problems, rows = [], []
    for number, row in enumerate(raw, start=2):
        where = f"row {number}"
        sentence, criterion = (row["sentence"] or "").strip(), (row["criterion"] or "").strip()
        ids = tuple(i.strip() for i in (row["indicators"] or "").split(";") if i.strip())
        split = (row["split"] or "").strip()
        if not sentence:
            problems.append(Problem(file, f"{where}.sentence", "is empty; write the sentence or delete the row."))
        if not criterion:
            problems.append(Problem(file, f"{where}.criterion", "is empty; give the question id, e.g. Q1."))
        for bad in [i for i in ids if not _INDICATOR_ID.fullmatch(i)]:
            problems.append(Problem(file, f"{where}.indicators", f"{bad!r} is not an indicator id; separate ids "
                                    "with ';', e.g. Q1a;Q1b, or leave it empty for a sentence that evidences none."))
        if split not in {"train", "test"}:
            problems.append(Problem(file, f"{where}.split", f"{split!r} should be train or test."))
        rows.append(LabelledSentence(sentence, criterion, ids, split))
    if problems:
        raise ValidationFailed(problems)
    return rows


# --- the model ------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r"\d", "0", text.lower())


class _Features:
    """TF-IDF word (1-2) and character (2-5, within words) n-grams, each block L2-normalised.

    ``transform`` gives exactly what scikit-learn's ``TfidfVectorizer`` gives, faster: character
    n-grams never cross a word, so each distinct word's n-gram columns are computed once and
    kept (the training words at once, others when first seen, up to :attr:`CACHE_WORDS` words),
    and a sentence's counts are the sum of its words'.
    """

    CACHE_WORDS = 100_000

    def __init__(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=_normalise)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                     preprocessor=_normalise)
        self._cache: dict[str, np.ndarray] = {}

    def fit_transform(self, texts: Sequence[str]):
        from scipy import sparse

        matrix = sparse.hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)], format="csr")
        self._analyse = self.chars.build_analyzer()
        self._vocabulary = self.chars.vocabulary_
        self._idf = self.chars.idf_
        self._cache.clear()
        for text in texts:  # nominators' words are mostly these: analyse them once, now
            for word in text.split():
                self._word_columns(word)
        return matrix

    def transform(self, texts: Sequence[str]):
        from scipy import sparse

        return sparse.hstack([self.words.transform(texts), self._char_matrix(texts)], format="csr")

    def _word_columns(self, word: str) -> np.ndarray:
        columns = self._cache.get(word)
        if columns is None:
            vocabulary = self._vocabulary
            columns = np.fromiter((vocabulary[g] for g in self._analyse(word) if g in vocabulary), dtype=np.int64)
            if len(self._cache) >= self.CACHE_WORDS:
                self._cache.clear()
            self._cache[word] = columns
        return columns

    def _char_matrix(self, texts: Sequence[str]):
        from scipy import sparse
        from sklearn.preprocessing import normalize

        per_text = [[self._word_columns(w) for w in text.split()] for text in texts]
        lengths = [sum(len(c) for c in words) for words in per_text]
        columns = np.concatenate([c for words in per_text for c in words] or [np.zeros(0, dtype=np.int64)])
        rows = np.repeat(np.arange(len(texts)), lengths)
        counts = sparse.csr_matrix((np.ones(len(columns)), (rows, columns)), shape=(len(texts), len(self._idf)))
        counts.sum_duplicates()
        counts.data = (1.0 + np.log(counts.data)) * self._idf[counts.indices]
        return normalize(counts, copy=False)


class EvidenceModel:
    """One logistic regression per indicator on TF-IDF word (1-2) and character (2-5) n-grams.

    Each indicator's model learns from the labelled sentences written for the same question:
    those tagged with the indicator against the rest. Build it with :meth:`train`.
    """

    def __init__(self, *, features, weights: np.ndarray, intercepts: np.ndarray,
                 indicator_ids: tuple[str, ...], criteria: Mapping[str, str], threshold: float):
        self._features = features
        self._weights = weights
        self._intercepts = intercepts
        self.indicator_ids = indicator_ids
        self.criteria = dict(criteria)
        self.threshold = threshold

    @classmethod
    def train(cls, examples: Iterable[LabelledSentence], *, threshold: float = THRESHOLD,
              c: float = REGULARISATION_C) -> EvidenceModel:
        """Train on labelled sentences (each indicator needs positive and negative examples)."""
        from sklearn.linear_model import LogisticRegression

        examples = list(examples)
        features = _Features()
        matrix = features.fit_transform([e.sentence for e in examples])
        criteria: dict[str, str] = {}
        for example in examples:
            for indicator_id in example.indicators:
                criteria.setdefault(indicator_id, example.criterion)
        ids = tuple(sorted(criteria))
        weights = np.zeros((matrix.shape[1], len(ids)))
        intercepts = np.zeros(len(ids))
        for column, indicator_id in enumerate(ids):
            rows = [i for i, e in enumerate(examples) if e.criterion == criteria[indicator_id]]
            labels = np.array([indicator_id in examples[i].indicators for i in rows], dtype=int)
            if labels.min() == labels.max():
                raise ValidationFailed([Problem("labelled sentences", indicator_id, "every sentence for question "
                                                f"{criteria[indicator_id]} is tagged the same way; add sentences "
                                                "that do and that do not evidence it.")])
            model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=0)
            model.fit(matrix[rows], labels)
            weights[:, column] = model.coef_[0]
            intercepts[column] = model.intercept_[0]
        return cls(features=features, weights=weights, intercepts=intercepts, indicator_ids=ids,
                   criteria=criteria, threshold=threshold)

    def confidences(self, sentences: Sequence[str]) -> np.ndarray:
        """Confidence (0-1) that each sentence evidences each indicator: rows are sentences,
        columns follow :attr:`indicator_ids`."""
        if not sentences:
            return np.zeros((0, len(self.indicator_ids)))
        logits = np.asarray(self._features.transform(sentences) @ self._weights) + self._intercepts
        return 1.0 / (1.0 + np.exp(-logits))

    def column(self, indicator_id: str) -> int:
        try:
            return self.indicator_ids.index(indicator_id)
        except ValueError:
            raise NotFound(f"The evidence model has no labelled examples for indicator {indicator_id!r}; it knows "
                           f"{', '.join(self.indicator_ids)}. Add sentences for it to {DEFAULT_DATA.name}.") from None


@functools.lru_cache(maxsize=1)
def default_model() -> EvidenceModel:
    """The model trained on every labelled sentence in ``data/``, trained once per process."""
    return EvidenceModel.train(read_labelled_sentences(DEFAULT_DATA))


def prepare() -> None:
    """Do the one-off work now (train the model, compile the vocabulary), e.g. when an app starts,
    so that the first answer analysed is as quick as the rest."""
    default_model()
    find_mentions("")


# --- the result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SupportingSentence:
    text: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True)
class IndicatorFinding:
    """One indicator of the question: whether a sentence evidences it, and which.

    ``confidence`` is the model's highest confidence over the answer's sentences that a sentence
    evidences this indicator. It is not a mark and must not be shown as one.
    """

    indicator_id: str
    criterion_id: str
    indicator_text: str
    found: bool
    confidence: float
    sentences: tuple[SupportingSentence, ...]


@dataclass(frozen=True)
class AnswerEvidence:
    """What the aid found in one answer. Offsets are into the answer text as given."""

    criterion_id: str
    indicators: tuple[IndicatorFinding, ...]
    mentions: tuple[Mention, ...]
    outcome_evidence: tuple[OutcomeSentence, ...]
    unsupported_claims: tuple[ClaimSentence, ...]
    word_count: WordCount
    disclaimer: str = DISCLAIMER

    @property
    def evidenced(self) -> tuple[IndicatorFinding, ...]:
        """The indicators with at least one supporting sentence, in rubric order."""
        return tuple(f for f in self.indicators if f.found)


def _as_indicators(indicators: Iterable[Indicator | Sequence[str]]) -> list[Indicator]:
    return [i if isinstance(i, Indicator) else Indicator(*i) for i in indicators]


def analyse_nomination(*, answers: Mapping[str, str], indicators: Iterable[Indicator | Sequence[str]],
                       word_limit: int = DEFAULT_WORD_LIMIT, model: EvidenceModel | None = None,
                       vocabulary: Vocabulary | None = None) -> dict[str, AnswerEvidence]:
    """:func:`analyse_answer` for every answer of a nomination, ``{criterion_id: text}``, in one pass.

    ``indicators`` may be every indicator of the rubric; each answer is read for its own.
    """
    model = model or default_model()
    indicators = _as_indicators(indicators)
    split = {criterion_id: split_sentences(text or "") for criterion_id, text in answers.items()}
    all_sentences = [s.text for sentences in split.values() for s in sentences]
    confidences = model.confidences(all_sentences)
    results, offset = {}, 0
    for criterion_id, text in answers.items():
        sentences = split[criterion_id]
        rows = confidences[offset:offset + len(sentences)]
        offset += len(sentences)
        findings = []
        for indicator in (i for i in indicators if i.criterion_id == criterion_id):
            column = rows[:, model.column(indicator.id)]
            support = tuple(SupportingSentence(s.text, s.start, s.end, round(float(p), 3))
                            for s, p in zip(sentences, column) if p >= model.threshold)
            best = round(float(column.max()), 3) if len(column) else 0.0
            findings.append(IndicatorFinding(indicator.id, criterion_id, indicator.text, bool(support), best, support))
        outcomes, claims = [], []
        for s in sentences:
            kinds = outcome_kinds(s.text)
            if kinds:
                outcomes.append(OutcomeSentence(s.text, s.start, s.end, kinds))
            elif words := _unsupported(s.text, kinds):
                claims.append(ClaimSentence(s.text, s.start, s.end, words))
        results[criterion_id] = AnswerEvidence(
            criterion_id=criterion_id,
            indicators=tuple(findings),
            mentions=tuple(find_mentions(text or "", vocabulary=vocabulary)),
            outcome_evidence=tuple(outcomes),
            unsupported_claims=tuple(claims),
            word_count=WordCount(word_count(text or ""), word_limit),
        )
    return results


def analyse_answer(*, text: str, criterion_id: str, indicators: Iterable[Indicator | Sequence[str]],
                   word_limit: int = DEFAULT_WORD_LIMIT, model: EvidenceModel | None = None,
                   vocabulary: Vocabulary | None = None) -> AnswerEvidence:
    """What the aid finds in one answer to question ``criterion_id`` (see the module docstring).

    ``indicators`` are ``(id, criterion_id, text)`` triples, e.g. from :func:`indicators_from_rubric`;
    only those of ``criterion_id`` are used. Raises ``NotFound`` for an indicator the model has
    no labelled examples for.
    """
    return analyse_nomination(answers={criterion_id: text}, indicators=indicators, word_limit=word_limit,
                              model=model, vocabulary=vocabulary)[criterion_id]


# --- evaluation: per-indicator precision/recall/F1, and the keyword baseline ----------------------


@dataclass(frozen=True)
class IndicatorScores:
    """Precision, recall and F1 of one method for one indicator on a set of labelled sentences."""

    indicator_id: str
    support: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(*, predict: Callable[[Sequence[LabelledSentence]], list[set[str]]],
             examples: Sequence[LabelledSentence], indicators: Iterable[Indicator | Sequence[str]]
             ) -> list[IndicatorScores]:
    """Score a predictor (labelled sentences -> the set of indicator ids each evidences).

    A sentence can only evidence the indicators of the question it was written for.
    """
    indicators = _as_indicators(indicators)
    predicted = predict(examples)
    scores = []
    for indicator in indicators:
        tp = fp = fn = 0
        for example, found in zip(examples, predicted):
            hit = indicator.id in found and example.criterion == indicator.criterion_id
            gold = indicator.id in example.indicators
            tp += hit and gold
            fp += hit and not gold
            fn += gold and not hit
        scores.append(IndicatorScores(indicator.id, tp + fn, tp, fp, fn))
    return scores


def macro_f1(scores: Sequence[IndicatorScores]) -> float:
    """The unweighted mean F1 over indicators."""
    return sum(s.f1 for s in scores) / len(scores) if scores else 0.0


def model_predictor(model: EvidenceModel, indicators: Iterable[Indicator | Sequence[str]]
                    ) -> Callable[[Sequence[LabelledSentence]], list[set[str]]]:
    """Predict with the model, each sentence read for its own question's indicators."""
    indicators = _as_indicators(indicators)

    def predict(examples: Sequence[LabelledSentence]) -> list[set[str]]:
        confidences = model.confidences([e.sentence for e in examples])
        return [{i.id for i in indicators if i.criterion_id == e.criterion
                 and confidences[row, model.column(i.id)] >= model.threshold} for row, e in enumerate(examples)]
    return predict


_STOP_WORDS = frozenset("""a about above after all along also an and any are as at be been being beyond by can do
each every for from has have help in including into is it its of on or other others our own see seeing shown so
some someone something such that the their them these they this those through to up us we were what when where
which while who will with within without""".split())


def _stem(word: str) -> str:
    word = word.lower().strip("'’")
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replacement
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z'’]+", text) if w.lower() not in _STOP_WORDS}


class KeywordBaseline:
    """The comparison method: a sentence evidences an indicator when it shares at least
    ``min_keywords`` keywords (the indicator text's words, less stop words, crudely stemmed)."""

    def __init__(self, indicators: Iterable[Indicator | Sequence[str]], *, min_keywords: int = 1):
        self.indicators = _as_indicators(indicators)
        self.keywords = {i.id: _stems(i.text) for i in self.indicators}
        self.min_keywords = min_keywords

    @classmethod
    def tuned(cls, indicators: Iterable[Indicator | Sequence[str]], *, examples: Sequence[LabelledSentence],
              choices: Sequence[int] = (1, 2, 3)) -> KeywordBaseline:
        """The baseline with the ``min_keywords`` that gives the best macro-F1 on ``examples``."""
        indicators = _as_indicators(indicators)
        candidates = [cls(indicators, min_keywords=k) for k in choices]
        return max(candidates, key=lambda b: macro_f1(evaluate(predict=b.predict, examples=examples,
                                                                indicators=indicators)))

    def predict(self, examples: Sequence[LabelledSentence]) -> list[set[str]]:
        found = []
        for example in examples:
            stems = _stems(example.sentence)
            found.append({i.id for i in self.indicators if i.criterion_id == example.criterion
                          and len(stems & self.keywords[i.id]) >= self.min_keywords})
        return found
