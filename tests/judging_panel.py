"""A small synthetic judging panel for the judging, allocation and conflict tests (nobody real)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from workbench.panel import add_judge, add_nomination, create_round
from workbench.rubric import load_rubric
from workbench.store import Round

ANSWERS = {
    "Q1": "Set up a co-production group with young carers; missed appointments fell from 31% to 12%.",
    "Q2": "Ran monthly sessions on difference, led by colleagues from their own experience.",
    "Q3": "Staff survey: 78% can raise concerns safely, up from 52% two years ago.",
    "Q4": "Chairs the Carers staff network and took its concerns to the board.",
}


@dataclass
class Panel:
    round: Round
    judge_ids: list[int]
    nomination_ids: list[int]


def build_panel(session: Session, *, judges: int = 6, nominations: int = 12, k: int = 3, blind: bool = True,
                show_panel: bool = False, name: str = "Test round", organisations: list[str] | None = None,
                nominee_organisations: list[str] | None = None) -> Panel:
    """``judges`` judges ``judge1@panel.example``... and ``nominations`` nominations N0001...

    Judge i works at ``organisations[i]`` (default: "Judge Org i"); nominee j at
    ``nominee_organisations[j]`` (default: "Nominee Org j"), so there are no conflicts unless asked.
    """
    round_ = create_round(session, name=name, rubric=load_rubric("inclusive-leader"), judges_per_nomination=k,
                          blind=blind, show_panel_after_submit=show_panel)
    judge_ids = [add_judge(session, name=f"Judge Number{i + 1}", email=f"judge{i + 1}@panel.example",
                           organisation=(organisations or [f"Judge Org {x}" for x in range(judges)])[i]).id
                 for i in range(judges)]
    nomination_ids = []
    for j in range(nominations):
        organisation = (nominee_organisations or [f"Nominee Org {x}" for x in range(nominations)])[j]
        nominee = {"name": f"Nominee Person{j + 1}", "email": f"nominee{j + 1}@nhs.example",
                   "organisation": organisation, "nominator_name": f"Nominator Person{j + 1}",
                   "nominator_email": f"nominator{j + 1}@nhs.example"}
        nomination = add_nomination(session, round_=round_, source_key=f"row-{j + 1}", answers=ANSWERS,
                                    nominee=nominee, equality={"sex": "Female", "age": "35-44"})
        nomination_ids.append(nomination.id)
    return Panel(round_, judge_ids, nomination_ids)
