"""A factory for scored rounds (nobody real), shared by the moderation, shortlist and export tests.

    built = scored_round(session, scores={"N1": {"Ann": 4, "Bo": [3, 3, 4, None]}})

A judge's entry is one number (the same score on every criterion) or a list in criterion order,
``None`` leaving that criterion unscored. Each judge gets an assignment for each nomination
they score, then one :func:`workbench.scoring.record_score` per criterion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workbench.panel import add_judge, add_nomination, create_round
from workbench.rubric import Rubric, load_rubric
from workbench.scoring import record_score
from workbench.store import Assignment, Round

ANSWER = "Ran listening events with {name}'s team and changed the rota; complaints fell from 12 to 3."


@dataclass
class Built:
    round: Round
    rubric: Rubric
    judges: dict[str, int]  # name -> id
    nominations: dict[str, int]  # key -> id
    references: dict[str, str]  # key -> reference (N0001...)


def create_scored_round(session, *, name: str = "Test round", rubric: Rubric | None = None, k: int = 3,
                        settings: Mapping | None = None) -> Round:
    return create_round(session, name=name, rubric=rubric or load_rubric("inclusive-leader"),
                        judges_per_nomination=k, settings=settings)


def scored_round(
    session,
    *,
    scores: Mapping[str, Mapping[str, object]],
    name: str = "Test round",
    rubric: Rubric | None = None,
    k: int = 3,
    settings: Mapping | None = None,
    categories: Mapping[str, str] | None = None,
    nominees: Mapping[str, Mapping[str, str]] | None = None,
    equality: Mapping[str, Mapping[str, str]] | None = None,
    comments: Mapping[tuple[str, str, str], str] | None = None,
    judge_names: list[str] | None = None,
) -> Built:
    """A round with the given scores; ``comments[(nomination, judge, criterion)]`` adds a comment."""
    rubric = rubric or load_rubric("inclusive-leader")
    round_ = create_scored_round(session, name=name, rubric=rubric, k=k, settings=settings)
    names = judge_names or sorted({j for per in scores.values() for j in per})
    judges = {n: add_judge(session, name=n, email=f"{n.lower().replace(' ', '.')}@judges.example").id for n in names}
    nominations, references = {}, {}
    for key in scores:
        person = dict((nominees or {}).get(key, {"name": f"Nominee {key}", "organisation": f"Org {key}"}))
        nomination = add_nomination(
            session, round_=round_, source_key=key,
            answers={c: ANSWER.format(name=person.get("name", key)) for c in rubric.criterion_ids},
            nominee=person, equality=(equality or {}).get(key), category=(categories or {}).get(key))
        nominations[key], references[key] = nomination.id, nomination.reference
    for key, per_judge in scores.items():
        for judge, given in per_judge.items():
            session.add(Assignment(round_id=round_.id, judge_id=judges[judge], nomination_id=nominations[key],
                                   reason="test"))
            session.flush()
            values = given if isinstance(given, (list, tuple)) else [given] * len(rubric.criteria)
            for criterion, value in zip(rubric.criterion_ids, values):
                if value is None:
                    continue
                record_score(session, round_=round_, judge_id=judges[judge], nomination_id=nominations[key],
                             criterion_id=criterion, value=value, actor=judge, check_rubric_file=False,
                             comment=(comments or {}).get((key, judge, criterion), ""))
    return Built(round_, rubric, judges, nominations, references)


def weighted_rubric(weights: Mapping[str, float], *, levels: int = 6) -> Rubric:
    """A small award rubric with the given criteria and weights, on a 0..levels-1 scale."""
    from workbench.rubric import rubric_from_document

    return rubric_from_document({
        "schema_version": 1, "id": "weighted-test", "title": "Weighted test award", "kind": "award",
        "scales": {"points": {"levels": [{"value": v, "label": str(v)} for v in range(levels)]}},
        "criteria": [{"id": c, "text": f"Question {c}", "scale": "points", "weight": w} for c, w in weights.items()],
    }, file="weighted-test")
