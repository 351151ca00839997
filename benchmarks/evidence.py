"""Evidence-insight benchmark: the model against a keyword-matching baseline, and its speed.

    python -m benchmarks.evidence [--repeat 200]

Quality, on the fixed test split of ``data/evidence_sentences.csv`` (the model and the
baseline both learn only from the train split):

- **model**: :class:`workbench.evidence.EvidenceModel` (TF-IDF word + character n-grams, one
  logistic regression per indicator);
- **keywords**: :class:`workbench.evidence.KeywordBaseline`, a sentence evidences an indicator
  when it shares at least k keywords with the indicator's text in ``rubrics/inclusive-leader.yaml``
  (stop words removed, crude stemming), with k in 1..3 chosen on the train split.

Printed: precision, recall and F1 per indicator, macro-F1 and the model/baseline ratio, and the
same macro-F1 under five-fold cross-validation on the train split (how the threshold and C were
chosen). Target: the model's macro-F1 clearly above the baseline's.

Speed: :func:`workbench.evidence.analyse_nomination` on ``--repeat`` different nominations of four
synthetic answers each (test-split sentences of each question shuffled with non-evidence
sentences, about 450 words an answer): mean and 95th percentile, and the first nomination
after :func:`workbench.evidence.prepare` on its own (none of its words seen yet). Target: under
50 ms. First use (reading the data, training, compiling the vocabulary) is timed separately.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import numpy as np

from workbench.evidence import (
    DEFAULT_WORD_LIMIT,
    REGULARISATION_C,
    THRESHOLD,
    EvidenceModel,
    KeywordBaseline,
    analyse_nomination,
    default_model,
    evaluate,
    indicators_from_rubric,
    macro_f1,
    model_predictor,
    prepare,
    read_labelled_sentences,
)
from workbench.rubric import load_rubric


def cross_validated(train, indicators, *, folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """Macro-F1 of the model and of the tuned baseline, pooled over ``folds`` folds of ``train``."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: ";".join(train[i].indicators) or f"none-{train[i].criterion}")  # stratify
    fold_of = {i: n % folds for n, i in enumerate(order)}
    predicted_model: list[set[str]] = [set()] * len(train)
    predicted_keywords: list[set[str]] = [set()] * len(train)
    for fold in range(folds):
        fit = [e for i, e in enumerate(train) if fold_of[i] != fold]
        held = [i for i in range(len(train)) if fold_of[i] == fold]
        model = model_predictor(EvidenceModel.train(fit), indicators)
        keywords = KeywordBaseline.tuned(indicators, examples=fit)
        for i, found in zip(held, model([train[i] for i in held])):
            predicted_model[i] = found
        for i, found in zip(held, keywords.predict([train[i] for i in held])):
            predicted_keywords[i] = found
    model_scores = evaluate(predict=lambda _: predicted_model, examples=train, indicators=indicators)
    keyword_scores = evaluate(predict=lambda _: predicted_keywords, examples=train, indicators=indicators)
    return macro_f1(model_scores), macro_f1(keyword_scores)


def synthetic_nomination(rows, criteria, *, seed: int = 3, words: int = 450) -> dict[str, str]:
    """Four answers of about ``words`` words from test-split and non-evidence sentences."""
    rng = random.Random(seed)
    answers = {}
    for criterion in criteria:
        pool = [r.sentence for r in rows if r.split == "test" and r.criterion == criterion]
        pool += [r.sentence for r in rows if not r.indicators]
        rng.shuffle(pool)
        chosen, count = [], 0
        for sentence in pool:
            if count >= words:
                break
            chosen.append(sentence)
            count += len(sentence.split())
        paragraphs = [" ".join(chosen[i:i + 4]) for i in range(0, len(chosen), 4)]
        answers[criterion] = "\n\n".join(paragraphs)
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.evidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="how many nominations to time (default 200)")
    args = parser.parse_args(argv)

    rubric = load_rubric("inclusive-leader")
    indicators = indicators_from_rubric(rubric)
    rows = read_labelled_sentences()
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test"]

    import sklearn.feature_extraction.text, sklearn.linear_model  # noqa: E401, F401  (import time is not training)

    train_times = []
    for _ in range(3):
        started = time.perf_counter()
        model = EvidenceModel.train(train)
        train_times.append(time.perf_counter() - started)
    train_seconds = min(train_times)
    baseline = KeywordBaseline.tuned(indicators, examples=train)
    model_scores = evaluate(predict=model_predictor(model, indicators), examples=test, indicators=indicators)
    keyword_scores = evaluate(predict=baseline.predict, examples=test, indicators=indicators)

    print(f"Evidence insight: {len(rows)} labelled sentences ({len(train)} train, {len(test)} test), "
          f"{len(indicators)} indicators of {rubric.id}")
    print(f"model: threshold {THRESHOLD}, C {REGULARISATION_C:g}; keyword baseline: at least "
          f"{baseline.min_keywords} keyword(s) (chosen on train)\n")
    print(f"{'indicator':10} {'n':>3}   {'model P':>7} {'R':>5} {'F1':>5}   {'keywords P':>10} {'R':>5} {'F1':>5}")
    for ours, theirs in zip(model_scores, keyword_scores):
        print(f"{ours.indicator_id:10} {ours.support:>3}   {ours.precision:7.2f} {ours.recall:5.2f} {ours.f1:5.2f}   "
              f"{theirs.precision:10.2f} {theirs.recall:5.2f} {theirs.f1:5.2f}")
    ours_macro, theirs_macro = macro_f1(model_scores), macro_f1(keyword_scores)
    ratio = ours_macro / theirs_macro if theirs_macro else float("inf")
    print(f"{'macro-F1':10} {'':>3}   {'':>7} {'':>5} {ours_macro:5.2f}   {'':>10} {'':>5} {theirs_macro:5.2f}")
    print(f"\nmacro-F1 on the test split: model {ours_macro:.3f}, keywords {theirs_macro:.3f}, "
          f"ratio {ratio:.2f}x  ({'model better' if ours_macro > theirs_macro else 'MODEL NOT BETTER'})")
    cv_ours, cv_theirs = cross_validated(train, indicators)
    print(f"macro-F1, 5-fold cross-validation on the train split: model {cv_ours:.3f}, keywords {cv_theirs:.3f}, "
          f"ratio {cv_ours / cv_theirs:.2f}x")

    default_model.cache_clear()
    started = time.perf_counter()
    prepare()
    first_use = time.perf_counter() - started
    model = default_model()
    criteria = [c.id for c in rubric.criteria]
    limit = rubric.word_limit or DEFAULT_WORD_LIMIT
    nominations = [synthetic_nomination(rows, criteria, seed=seed) for seed in range(args.repeat)]
    word_counts = [len(text.split()) for nomination in nominations for text in nomination.values()]

    def timed(nomination) -> float:
        started = time.perf_counter()
        analyse_nomination(answers=nomination, indicators=indicators, word_limit=limit, model=model)
        return (time.perf_counter() - started) * 1000

    cold = timed(nominations[0])  # the first nomination after prepare(): no word of it seen yet
    timings = [timed(nomination) for nomination in nominations]
    p95 = float(np.percentile(timings, 95))
    print(f"\ntraining on the train split (best of 3): {train_seconds * 1000:.0f} ms; first use, prepare() (read "
          f"the data, train on all {len(rows)} sentences, compile the vocabulary): {first_use * 1000:.0f} ms")
    print(f"per nomination (4 answers of {min(word_counts)}-{max(word_counts)} words), {args.repeat} different "
          f"nominations: mean {statistics.fmean(timings):.1f} ms, p95 {p95:.1f} ms; the first one after prepare() "
          f"{cold:.1f} ms (target < 50 ms: {'met' if max(p95, cold) < 50 else 'NOT MET'})")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: other work on the machine slows "
          "every figure above)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
