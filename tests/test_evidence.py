"""Evidence insight: supporting sentences, outcome evidence, word counts, and the model vs the baseline."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from workbench.errors import NotFound, Problem, ValidationFailed
from workbench.evidence import (
    DISCLAIMER,
    AnswerEvidence,
    ClaimSentence,
    EvidenceModel,
    Indicator,
    KeywordBaseline,
    OutcomeSentence,
    Sentence,
    SupportingSentence,
    WordCount,
    analyse_answer,
    analyse_nomination,
    default_model,
    evaluate,
    indicators_from_rubric,
    macro_f1,
    model_predictor,
    outcome_kinds,
    read_labelled_sentences,
    split_sentences,
    unsupported_claim,
)
from workbench.vocabulary import Mention

Q2_ANSWER = (
    "Joanna has been the ward manager at Pennfield for six years.\n"
    "• When a patient refused care from a nurse because of her accent, Joanna challenged him calmly and later "
    "ran a reflective session so the team could learn from it.\n"
    "• She started monthly \"world kitchen\" lunches where colleagues talk about their faith and food traditions.\n"
    "Her 'Respect Starts Here' campaign reached all 14 wards, and reported incidents fell from 31 to 12 in a year.\n"
    "She is truly amazing."
)


@pytest.fixture(scope="module")
def indicators():
    from workbench.rubric import load_rubric

    return indicators_from_rubric(load_rubric("inclusive-leader"))


@pytest.fixture(scope="module")
def rows():
    return read_labelled_sentences()


@pytest.fixture(scope="module")
def train_split_model(rows):
    return EvidenceModel.train([r for r in rows if r.split == "train"])


# --- indicators and supporting sentences ----------------------------------------------------


def test_indicators_come_from_the_rubric_in_order(indicators):
    assert [(i.id, i.criterion_id) for i in indicators] == [
        ("Q1a", "Q1"), ("Q1b", "Q1"), ("Q2a", "Q2"), ("Q2b", "Q2"), ("Q2c", "Q2"), ("Q3a", "Q3"), ("Q3b", "Q3"),
        ("Q4a", "Q4"), ("Q4b", "Q4")]
    assert indicators[1].text == "Evidence of a reduction in health inequalities"


def test_supporting_sentences_and_offsets_are_exact(indicators):
    result = analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators)

    assert [(f.indicator_id, f.found, f.confidence) for f in result.indicators] == [
        ("Q2a", True, 0.886), ("Q2b", True, 0.828), ("Q2c", True, 0.809)]
    supporting = {f.indicator_id: f.sentences for f in result.indicators}
    assert supporting == {
        "Q2a": (SupportingSentence("She started monthly \"world kitchen\" lunches where colleagues talk about their "
                                   "faith and food traditions.", 226, 330, 0.886),),
        "Q2b": (SupportingSentence("When a patient refused care from a nurse because of her accent, Joanna challenged "
                                   "him calmly and later ran a reflective session so the team could learn from it.",
                                   63, 223, 0.828),),
        "Q2c": (SupportingSentence("Her 'Respect Starts Here' campaign reached all 14 wards, and reported incidents "
                                   "fell from 31 to 12 in a year.", 331, 440, 0.809),),
    }
    for sentences in supporting.values():
        for s in sentences:
            assert Q2_ANSWER[s.start:s.end] == s.text


def test_indicator_text_is_carried_for_display(indicators):
    result = analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators)

    assert result.indicators[0].indicator_text == "They take every opportunity to help others learn about difference"


def test_an_indicator_not_evidenced_is_listed_with_no_sentences(indicators):
    text = ("Ola, a healthcare assistant, suggested a new handover sheet and the team adopted it within a week. "
            "In the staff survey 90% said they felt safe to raise concerns.")

    result = analyse_answer(text=text, criterion_id="Q3", indicators=indicators)

    assert [(f.indicator_id, f.found, [(s.start, s.end) for s in f.sentences]) for f in result.indicators] == [
        ("Q3a", True, [(0, 98), (99, 161)]), ("Q3b", False, [])]
    assert [f.indicator_id for f in result.evidenced] == ["Q3a"]


def test_mentions_come_from_the_vocabulary(indicators):
    result = analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators)

    assert result.mentions == (Mention("religion-belief", "protected_characteristic", "faith", 304, 309),)


def test_outcome_evidence_and_unsupported_claims_of_an_answer(indicators):
    result = analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators)

    assert result.outcome_evidence == (OutcomeSentence(
        "Her 'Respect Starts Here' campaign reached all 14 wards, and reported incidents fell from 31 to 12 in a "
        "year.", 331, 440, ("figure", "comparison", "named-initiative")),)
    assert result.unsupported_claims == (ClaimSentence("She is truly amazing.", 441, 462, ("truly", "amazing")),)


def test_plain_tuples_work_and_only_the_questions_own_indicators_are_read(indicators):
    as_tuples = [tuple(i) for i in indicators]

    result = analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=as_tuples)

    assert [f.indicator_id for f in result.indicators] == ["Q2a", "Q2b", "Q2c"]


def test_an_empty_answer_has_nothing_but_is_still_a_result(indicators):
    result = analyse_answer(text="", criterion_id="Q1", indicators=indicators)

    assert result == AnswerEvidence(
        criterion_id="Q1",
        indicators=tuple(dataclasses.replace(f) for f in result.indicators),
        mentions=(), outcome_evidence=(), unsupported_claims=(), word_count=WordCount(0, 500))
    assert [(f.indicator_id, f.found, f.confidence, f.sentences) for f in result.indicators] == [
        ("Q1a", False, 0.0, ()), ("Q1b", False, 0.0, ())]


def test_an_indicator_the_model_has_no_examples_for_is_refused_clearly():
    with pytest.raises(NotFound, match="The evidence model has no labelled examples for indicator 'P1'; it knows "
                                       "Q1a, Q1b, Q2a, Q2b, Q2c, Q3a, Q3b, Q4a, Q4b."):
        analyse_answer(text="Some text.", criterion_id="K", indicators=[Indicator("P1", "K", "Something")])


def test_a_nomination_is_analysed_in_one_pass_with_the_same_result(indicators):
    answers = {"Q1": "The team asked Somali mothers to help design the new antenatal clinic. Uptake among Somali "
                     "mothers rose from 40% to 75%.",
               "Q2": Q2_ANSWER}

    results = analyse_nomination(answers=answers, indicators=indicators)

    assert list(results) == ["Q1", "Q2"]
    assert results["Q2"] == analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators)
    assert [(f.indicator_id, [(s.start, s.end) for s in f.sentences]) for f in results["Q1"].indicators] == [
        ("Q1a", [(0, 70)]), ("Q1b", [(71, 120)])]


# --- sentences --------------------------------------------------------------------------------


def test_sentences_split_on_stops_line_breaks_and_bullets_with_exact_offsets():
    text = "First one, e.g. Dr. Rao's idea. Second?\n\n  - Third (J. Smith) ends here\n2) Fourth! ‘Fifth’"

    sentences = split_sentences(text)

    assert sentences == [
        Sentence("First one, e.g. Dr. Rao's idea.", 0, 31),
        Sentence("Second?", 32, 39),
        Sentence("Third (J. Smith) ends here", 45, 71),
        Sentence("Fourth!", 75, 82),
        Sentence("‘Fifth’", 83, 90),
    ]
    assert [text[s.start:s.end] for s in sentences] == [s.text for s in sentences]


def test_punctuation_only_lines_are_not_sentences():
    assert split_sentences("---\n• \n...\nReal one.") == [Sentence("Real one.", 11, 20)]


# --- outcome evidence vs unsupported claims --------------------------------------------------


@pytest.mark.parametrize(("sentence", "kinds"), [
    ("Screening uptake rose from 41% to 58%.", ("percentage", "comparison")),
    ("Attendance was 12 per cent higher.", ("percentage",)),
    ("She trained 320 porters and receptionists.", ("figure",)),
    ("The fund raised £2,400 for interpreters.", ("figure",)),
    ("Missed appointments halved once reminders were translated.", ("comparison",)),
    ("Waits are now the same for deaf and hearing patients.", ("comparison",)),
    ("Deaf patients were three times more likely to leave without being seen.", ("comparison",)),
    ("Before the change few staff applied; after it, many did.", ("comparison",)),
    ("The staff survey showed a clear rise in staff feeling included.", ("survey",)),
    ("An audit six months later found no errors.", ("survey",)),
    ("She led the Black History Month programme across the trust.", ("named-initiative",)),
    ("Her 'Ask Me My Pronouns' campaign reached every ward.", ("named-initiative",)),
    ("A porter wrote that 'she is the first manager who ever asked my opinion'.", ("quoted-feedback",)),
    ("She joined the trust in 2015 as a band 5 nurse.", ()),
    ("She has worked here for 12 years.", ()),
    ("She always listens to people.", ()),
])
def test_outcome_evidence_detector(sentence, kinds):
    assert outcome_kinds(sentence) == kinds


@pytest.mark.parametrize(("sentence", "words"), [
    ("She is truly outstanding and always goes above and beyond.",
     ("truly", "outstanding", "always", "above and beyond")),
    ("He has transformed the service beyond recognition.", ("transformed", "beyond recognition")),
    ("She is respected by everyone in the building.", ("respected by everyone",)),
    ("Her dedication is second to none.", ("second to none",)),
    ("She transformed uptake, which rose from 20% to 45%.", ()),          # backed by figures
    ("She always challenges bias, for example at handover.", ()),          # backed by an example
    ("Her work with Larkfield Deaf Club has been outstanding.", ()),       # a name: something to check
    ("The best-attended session was on Thursday.", ()),                    # not a claim word
    ("She reminded everyone of the standards we agreed.", ()),             # not a claim
])
def test_unsupported_claim_detector(sentence, words):
    assert unsupported_claim(sentence) == words


# --- word count -------------------------------------------------------------------------------


def test_word_count_against_the_default_limit(indicators):
    at_limit = analyse_answer(text=" ".join(["word"] * 500), criterion_id="Q4", indicators=indicators)
    over = analyse_answer(text=" ".join(["word"] * 501), criterion_id="Q4", indicators=indicators)

    assert (at_limit.word_count, at_limit.word_count.over_limit, at_limit.word_count.over_by) == (
        WordCount(500, 500), False, 0)
    assert (over.word_count, over.word_count.over_limit, over.word_count.over_by) == (WordCount(501, 500), True, 1)


def test_word_count_uses_the_given_limit_and_counts_as_the_import_does(indicators):
    result = analyse_answer(text="Raised £2,000 – and\n€300 for the LGBTQ+ network.", criterion_id="Q4",
                            indicators=indicators, word_limit=7)

    assert (result.word_count.words, result.word_count.limit, result.word_count.over_by) == (9, 7, 2)


# --- assistive only ---------------------------------------------------------------------------


def _field_names(value, seen=()) -> set[str]:
    names: set[str] = set()
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            names.add(f.name)
            names |= _field_names(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            names |= _field_names(item)
    return names


def test_the_disclaimer_is_present_and_no_score_is_proposed(indicators):
    result = analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators)
    names = _field_names(result)

    assert result.disclaimer == DISCLAIMER
    assert DISCLAIMER.startswith("This is an aid to reading, not a score.")
    assert "do not suggest a score" in DISCLAIMER
    assert [n for n in names if "score" in n or "suggest" in n or "mark" in n or "grade" in n] == []
    assert names == {"criterion_id", "indicators", "mentions", "outcome_evidence", "unsupported_claims",
                     "word_count", "disclaimer", "indicator_id", "indicator_text", "found", "confidence",
                     "sentences", "text", "start", "end", "term_id", "kind", "matched_text", "kinds", "claim_words",
                     "words", "limit"}


# --- the model against the baseline, and determinism ---------------------------------------------


def test_the_model_beats_the_keyword_baseline_on_the_test_split(rows, indicators, train_split_model):
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test"]
    baseline = KeywordBaseline.tuned(indicators, examples=train)

    model_f1 = macro_f1(evaluate(predict=model_predictor(train_split_model, indicators), examples=test,
                                 indicators=indicators))
    keyword_f1 = macro_f1(evaluate(predict=baseline.predict, examples=test, indicators=indicators))

    assert baseline.min_keywords == 1
    assert round(keyword_f1, 3) == 0.521
    assert model_f1 >= keyword_f1 + 0.15


def test_keyword_baseline_uses_the_indicator_texts_words(indicators):
    baseline = KeywordBaseline(indicators)

    assert baseline.keywords["Q1b"] == {"evidence", "reduction", "health", "inequality"}
    assert baseline.predict(read_labelled_sentences()[:0]) == []


def test_evaluate_counts_per_indicator(indicators, rows):
    q1 = [r for r in rows if r.criterion == "Q1"][:4]  # Q1a, Q1a, Q1a, Q1a sentences in file order
    predict = lambda examples: [{"Q1a"}, {"Q1b"}, set(), {"Q1a", "Q2a"}]  # noqa: E731

    scores = evaluate(predict=predict, examples=q1, indicators=indicators[:3])

    assert [(s.indicator_id, s.support, s.true_positives, s.false_positives, s.false_negatives) for s in scores] == [
        ("Q1a", 4, 2, 0, 2), ("Q1b", 0, 0, 1, 0), ("Q2a", 0, 0, 0, 0)]
    assert (scores[0].precision, scores[0].recall, round(scores[0].f1, 3)) == (1.0, 0.5, 0.667)


def test_training_and_results_are_deterministic(rows, indicators):
    retrained = EvidenceModel.train(rows)  # the default model is trained on the same rows
    sentences = [r.sentence for r in rows[:50]]

    assert np.array_equal(retrained.confidences(sentences), default_model().confidences(sentences))
    assert analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators, model=retrained) == (
        analyse_answer(text=Q2_ANSWER, criterion_id="Q2", indicators=indicators))


def test_fast_features_equal_scikit_learns(rows, train_split_model):
    from scipy import sparse

    features = train_split_model._features
    texts = [r.sentence for r in rows if r.split == "test"] + ["", "Ünïcode café  12%\ttab", "new-words zxqv"]

    ours = features.transform(texts)
    theirs = sparse.hstack([features.words.transform(texts), features.chars.transform(texts)], format="csr")

    assert ours.shape == theirs.shape
    assert abs(ours - theirs).max() < 1e-12


# --- the labelled data ------------------------------------------------------------------------


def test_labelled_data_is_complete_and_consistent(rows, indicators):
    criterion_of = {i.id: i.criterion_id for i in indicators}
    splits = Counter(r.split for r in rows)
    per_indicator = Counter((i, r.split) for r in rows for i in r.indicators)

    assert len(rows) == 339
    assert len({r.sentence for r in rows}) == len(rows)
    assert splits == {"train": 234, "test": 105}
    assert sum(1 for r in rows if not r.indicators) == 52
    assert [(r.sentence, i) for r in rows for i in r.indicators if criterion_of.get(i) != r.criterion] == []
    assert all(per_indicator[(i.id, "train")] >= 20 and per_indicator[(i.id, "test")] >= 10 for i in indicators)


def test_labelled_data_problems_are_all_reported(tmp_path):
    path = tmp_path / "sentences.csv"
    path.write_text("sentence,criterion,indicators,split\n"
                    "Good one.,Q1,Q1a,train\n"
                    ",Q1,Q1a,train\n"
                    "No criterion.,,Q1a,test\n"
                    "Bad ids.,Q1,Q1a Q1b,dev\n", encoding="utf-8")

    with pytest.raises(ValidationFailed) as caught:
        read_labelled_sentences(path)

    assert caught.value.problems == [
        Problem(str(path), "row 3.sentence", "is empty; write the sentence or delete the row."),
        Problem(str(path), "row 4.criterion", "is empty; give the question id, e.g. Q1."),
        Problem(str(path), "row 5.indicators", "'Q1a Q1b' is not an indicator id; separate ids with ';', e.g. "
                "Q1a;Q1b, or leave it empty for a sentence that evidences none."),
        Problem(str(path), "row 5.split", "'dev' should be train or test."),
    ]


def test_labelled_data_with_a_missing_column(tmp_path):
    path = tmp_path / "sentences.csv"
    path.write_text("sentence,criterion\nA.,Q1\n", encoding="utf-8")

    with pytest.raises(ValidationFailed, match="missing column\\(s\\) indicators, split"):
        read_labelled_sentences(path)


def test_training_refuses_an_indicator_without_negative_examples(rows):
    only_q1a = [r for r in rows if r.indicators == ("Q1a",)]

    with pytest.raises(ValidationFailed, match="every sentence for question Q1 is tagged the same way"):
        EvidenceModel.train(only_q1a)
