"""The rubric model: shipped rubrics load, broken ones say exactly what to fix, totals are right."""

from __future__ import annotations

import copy
import math
import textwrap

import pytest
import yaml

from workbench.cli import main
from workbench.errors import NotFound
from workbench.rubric import (
    RUBRICS_DIR,
    SCHEMA_VERSION,
    RubricError,
    ScoreError,
    available_rubrics,
    check_rubric_file,
    content_hash,
    load_rubric,
    rubric_from_document,
)

SHIPPED = ["edi-unit", "inclusive-leader", "lmcb1-safeguarding"]


def test_every_shipped_rubric_loads():
    assert available_rubrics() == SHIPPED
    for name in SHIPPED:
        assert check_rubric_file(RUBRICS_DIR / f"{name}.yaml") == []
        assert load_rubric(name).id == name


def test_inclusive_leader_has_the_form_questions():
    rubric = load_rubric("inclusive-leader")
    assert rubric.criterion_ids == ["Q1", "Q2", "Q3", "Q4"]
    assert rubric.criterion("Q3").text == (
        "Do those around them at work feel they are able to ‘be themselves’ and are ‘fully included’?"
    )
    assert [i.id for c in rubric.criteria for i in c.indicators] == [
        "Q1a", "Q1b", "Q2a", "Q2b", "Q2c", "Q3a", "Q3b", "Q4a", "Q4b"]
    scale = rubric.criterion("Q1").scale
    assert scale.values == [0, 1, 2, 3, 4, 5]
    assert all(level.descriptor for level in scale.levels)
    assert rubric.word_limit == 500


def test_edi_unit_marking_points_misconceptions_and_rule():
    rubric = load_rubric("edi-unit")
    assert rubric.criterion_ids == ["MP1", "MP2", "MP3", "MP4"]
    assert [lv.label for lv in rubric.criterion("MP1").scale.levels] == ["Not met", "Partly met", "Met", "Exceeded"]
    assert [c.id for c in rubric.checks] == ["MC1", "MC2", "MC3", "MC4"]
    assert rubric.outcome_for({"MP1": 2, "MP2": 3, "MP3": 2, "MP4": 2}).label == "Pass"
    refer = rubric.outcome_for({"MP1": 2, "MP2": 1, "MP3": 2, "MP4": 0})
    assert (refer.label, refer.reason) == ("Refer", "Below Met on: MP2, MP4.")


def test_lmcb1_has_every_performance_and_knowledge_item():
    rubric = load_rubric("lmcb1-safeguarding")
    assert rubric.criterion_ids == [f"P{i}" for i in range(1, 55)] + [f"K{i}" for i in range(1, 104)]
    assert all(c.section for c in rubric.criteria)
    scale = rubric.criterion("P1").scale
    assert [lv.label for lv in scale.levels] == ["Not yet met", "Met"]
    assert scale.parse("Not assessed") is None
    assert scale.parse("met") == 1


GOOD = {
    "schema_version": 1,
    "id": "mini",
    "title": "Mini",
    "kind": "award",
    "scales": {"five": {"levels": [{"value": v, "label": str(v)} for v in range(6)]}},
    "criteria": [
        {"id": "Q1", "text": "First?", "scale": "five", "weight": 2},
        {"id": "Q2", "text": "Second?", "scale": "five"},
        {"id": "Q3", "text": "Third?", "scale": "five"},
    ],
}


def _broken(change):
    doc = copy.deepcopy(GOOD)
    change(doc)
    return doc


BROKEN = [
    ("duplicate id", lambda d: d["criteria"][2].update(id="Q1"),
     "criteria[2].id", "duplicate criterion id 'Q1' (also at criteria[0]); give each a unique id."),
    ("weight not positive", lambda d: d["criteria"][1].update(weight=0),
     "criteria[1].weight", "the weight is 0; weights must be positive (e.g. 1)."),
    ("scale with a gap", lambda d: d["scales"]["five"]["levels"].pop(3),
     "scales.five.levels", "the scale has a gap: no level for 3. Add the missing level(s) or renumber so the "
     "values run without gaps."),
    ("unknown key", lambda d: d["criteria"][2].update(wieght=1),
     "criteria[2].wieght", "unknown key 'wieght'. Did you mean 'weight'? Allowed keys here: guidance, id, "
     "indicators, scale, section, text, title, weight."),
    ("missing required key", lambda d: d["criteria"][0].pop("text"),
     "criteria[0]", "'text' is a required property; add it."),
    ("unknown scale", lambda d: d["criteria"][1].update(scale="ten"),
     "criteria[1].scale", "no scale called 'ten'; use one of: five."),
    ("bad kind", lambda d: d.update(kind="prize"),
     "kind", "'prize' is not allowed; use one of: award, unit, standard."),
    ("levels out of order", lambda d: d["scales"]["five"]["levels"].reverse(),
     "scales.five.levels", "levels must be listed from the lowest value to the highest."),
    ("weight is text", lambda d: d["criteria"][0].update(weight="heavy"),
     "criteria[0].weight", "'heavy' should be number."),
    ("unknown section", lambda d: d["criteria"][0].update(section="rights"),
     "criteria[0].section", "no section called 'rights'; add it under `sections` or fix the spelling."),
    ("too new", lambda d: d.update(schema_version=SCHEMA_VERSION + 1),
     "schema_version", f"this file uses format version {SCHEMA_VERSION + 1}, but this workbench reads up to "
     f"version {SCHEMA_VERSION}. Upgrade the workbench."),
]


@pytest.mark.parametrize("change, path, message", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_rubric_gives_precise_message(tmp_path, change, path, message):
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump(_broken(change)), encoding="utf-8")
    problems = check_rubric_file(file)
    assert [(p.file, p.path, p.message) for p in problems] == [(str(file), path, message)]
    with pytest.raises(RubricError) as raised:
        load_rubric(file)
    assert f"{file}: {path}: {message}" in str(raised.value)


def test_every_problem_is_reported_at_once(tmp_path):
    def many(d):
        d["criteria"][2]["id"] = "Q1"
        d["criteria"][1]["weight"] = -1
        d["criteria"][0]["colour"] = "red"
    file = tmp_path / "many.yaml"
    file.write_text(yaml.safe_dump(_broken(many)), encoding="utf-8")
    assert sorted(p.path for p in check_rubric_file(file)) == ["criteria[0].colour", "criteria[1].weight",
                                                               "criteria[2].id"]


def test_yaml_syntax_error_names_line(tmp_path):
    file = tmp_path / "bad.yaml"
    file.write_text("schema_version: 1\nid: x\ntitle: [unclosed\n", encoding="utf-8")
    [problem] = check_rubric_file(file)
    assert problem.path.startswith("line ")
    assert "not valid YAML" in problem.message


def test_rubric_check_cli_exit_codes(tmp_path, capsys):
    assert main(["rubric", "check", "inclusive-leader"]) == 0
    assert "OK (4 criteria" in capsys.readouterr().out
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump(_broken(lambda d: (d["criteria"][1].update(weight=0),
                                                     d["criteria"][2].update(id="Q1")))), encoding="utf-8")
    assert main(["rubric", "check", str(file)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{file}: 2 problem(s)",
        "  - criteria[1].weight: the weight is 0; weights must be positive (e.g. 1).",
        "  - criteria[2].id: duplicate criterion id 'Q1' (also at criteria[0]); give each a unique id.",
    ]


def test_content_hash_ignores_comments_and_layout_but_not_content(tmp_path):
    plain = tmp_path / "a.yaml"
    plain.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    commented = tmp_path / "b.yaml"
    commented.write_text("# a comment\n" + textwrap.indent(yaml.safe_dump(GOOD, default_flow_style=True), ""),
                         encoding="utf-8")
    assert load_rubric(plain).hash == load_rubric(commented).hash == content_hash(GOOD)
    assert rubric_from_document(_broken(lambda d: d["criteria"][0].update(text="First, changed?"))).hash != \
        load_rubric(plain).hash


# Weighted totals: the rules pinned.
MINI = rubric_from_document(GOOD)


def test_weighted_total_complete():
    total = MINI.weighted_total({"Q1": 4, "Q2": 3, "Q3": 5})
    assert (total.total, total.max_total, total.complete, total.missing) == (16.0, 20.0, True, ())
    assert total.percent == 80.0


def test_weighted_total_never_counts_unscored_as_zero():
    total = MINI.weighted_total({"Q1": 4, "Q2": None})
    assert total.total is None and total.percent is None
    assert total.complete is False
    assert total.partial_total == 8.0
    assert total.missing == ("Q2", "Q3")
    assert total.describe() == "incomplete: 2 criterion(s) not scored yet (Q2, Q3)"


def test_weighted_total_nan_is_missing():
    assert MINI.weighted_total({"Q1": 1, "Q2": math.nan, "Q3": 2}).missing == ("Q2",)


def test_weighted_total_zero_is_a_real_score():
    total = MINI.weighted_total({"Q1": 0, "Q2": 0, "Q3": 0})
    assert (total.total, total.percent, total.complete) == (0.0, 0.0, True)


def test_weighted_total_refuses_unknown_criterion_and_out_of_scale():
    with pytest.raises(NotFound, match="Q9"):
        MINI.weighted_total({"Q9": 1})
    with pytest.raises(ScoreError, match="outside the scale"):
        MINI.weighted_total({"Q1": 6})


def test_weighted_total_fractional_aggregates_allowed():
    assert MINI.weighted_total({"Q1": 3.5, "Q2": 2.25, "Q3": 1}).total == 10.25


@pytest.mark.parametrize("raw, expected", [(3, 3), ("4", 4), (" 0 ", 0), ("", None), (None, None), (2.0, 2)])
def test_score_parsing_accepts(raw, expected):
    assert MINI.parse_score("Q1", raw) == expected


@pytest.mark.parametrize("raw, message", [
    (6, "6 for Q1 is not on the scale. Use a whole number from 0 to 5 (0–5)."),
    (2.5, "2.5 for Q1 is not on the scale. Use a whole number from 0 to 5 (0–5)."),
    ("good", "'good' for Q1 is not a score on this scale. Use one of: 0–5."),
    (True, "True for Q1 is not a score. Use one of: 0–5."),
])
def test_score_parsing_rejects_with_the_fix(raw, message):
    with pytest.raises(ScoreError) as raised:
        MINI.parse_score("Q1", raw)
    assert str(raised.value) == message
