"""The equality vocabulary file and the mention matcher."""

from __future__ import annotations

import copy

import pytest
import yaml

from workbench.errors import NotFound, Problem, ValidationFailed
from workbench.vocabulary import (
    DEFAULT_PATH,
    DISCRIMINATION_TYPES,
    PROTECTED_CHARACTERISTICS,
    Mention,
    find_mentions,
    load_vocabulary,
    main,
    vocabulary_from_document,
)


def found(text: str) -> list[tuple[str, str]]:
    return [(m.term_id, m.matched_text) for m in find_mentions(text)]


@pytest.fixture
def document():
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def write(tmp_path, document) -> str:
    path = tmp_path / "equality.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return str(path)


# --- the shipped file ---------------------------------------------------------------------


def test_shipped_file_has_the_nine_characteristics_and_six_types_in_order():
    vocabulary = load_vocabulary()

    assert [t.id for t in vocabulary.terms_of_kind("protected_characteristic")] == list(PROTECTED_CHARACTERISTICS)
    assert [t.id for t in vocabulary.terms_of_kind("discrimination_type")] == list(DISCRIMINATION_TYPES)
    assert vocabulary.term("race").description == "Race including colour, nationality, ethnic or national origin"
    assert vocabulary.term("religion-belief").description == "Religion or belief (or lack of)"
    assert vocabulary.term("indirect").description == (
        "This can occur when you have a rule or policy that applies to everyone but disadvantages a person with a "
        "particular protected characteristic.")
    assert {"BAME", "BME", "global majority", "WRES"} <= set(vocabulary.term("race").synonyms)
    assert {"wheelchair user", "neurodivergent", "reasonable adjustment", "WDES"} <= set(
        vocabulary.term("disability").synonyms)
    assert {"ethnicity", "ethnic group"} <= set(vocabulary.term("race").monitoring_headers)


def test_every_monitoring_header_of_every_characteristic_is_non_empty():
    vocabulary = load_vocabulary()

    assert [t.id for t in vocabulary.terms if t.monitoring_headers] == list(PROTECTED_CHARACTERISTICS)


def test_unknown_term_id_is_not_found():
    with pytest.raises(NotFound, match="no term 'ethnicity'"):
        load_vocabulary().term("ethnicity")


# --- synonyms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Our BAME staff network", [("race", "BAME")]),
    ("the black and minority ethnic network", [("race", "black and minority ethnic")]),
    ("colleagues from the global majority", [("race", "global majority")]),
    ("She published the WRES data.", [("race", "WRES")]),
    ("He is a wheelchair user.", [("disability", "wheelchair user")]),
    ("two neurodivergent colleagues", [("disability", "neurodivergent")]),
    ("reasonable adjustments were agreed", [("disability", "reasonable adjustments")]),
    ("support for non-binary staff", [("gender-reassignment", "non-binary")]),
    ("the trans staff forum", [("gender-reassignment", "trans")]),
    ("a Muslim chaplain", [("religion-belief", "Muslim")]),
    ("maternity leave cover", [("pregnancy-maternity", "maternity leave")]),
    ("her civil partner", [("marriage-civil-partnership", "civil partner")]),
    ("the gender pay gap", [("sex", "gender pay gap")]),
    ("older people's services", [("age", "older people")]),
    ("victimised for raising a grievance", [("victimisation", "victimised")]),
    ("this is indirect discrimination", [("indirect", "indirect discrimination")]),
])
def test_synonyms_are_found_as_their_term(text, expected):
    assert found(text) == expected


def test_plurals_of_simple_nouns_are_found():
    assert found("Wheelchair users, ethnic minorities and learning disabilities") == [
        ("disability", "Wheelchair users"), ("race", "ethnic minorities"), ("disability", "learning disabilities")]


def test_hyphen_and_space_variants_are_found():
    assert found("non binary, nonbinary and Non-Binary") == [
        ("gender-reassignment", "non binary"), ("gender-reassignment", "nonbinary"),
        ("gender-reassignment", "Non-Binary")]
    assert found("wheelchair-users") == [("disability", "wheelchair-users")]


def test_longest_phrase_wins_where_phrases_overlap():
    assert found("gender identity, then gender") == [("gender-reassignment", "gender identity"), ("sex", "gender")]
    assert found("Black, Asian and minority ethnic nurses") == [("race", "Black, Asian and minority ethnic")]


def test_a_mention_gives_exact_offsets_and_kind():
    text = "After a report of sexual harassment, the LGBTQ+ network met."

    mentions = find_mentions(text)

    assert mentions == [
        Mention("harassment", "discrimination_type", "sexual harassment", 18, 35),
        Mention("sexual-orientation", "protected_characteristic", "LGBTQ+", 41, 47),
    ]
    assert [text[m.start:m.end] for m in mentions] == ["sexual harassment", "LGBTQ+"]


# --- no match inside other words --------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Turn to the next page and the average stage.",       # age
    "Community transport and translation services.",      # trans
    "A menu of options for mentors, amended weekly.",     # men
    "He embraced the grace of the terrace.",              # race
    "The sextant and Essex.",                             # sex
    "Deafening alarms blindsided the staff.",             # deaf, blind
    "Pride in their work; a prideful ethnically-named file.",  # Pride (only 'Pride month' etc.), ethnic
])
def test_no_match_inside_other_words(text):
    assert found(text) == []


def test_plus_sign_is_part_of_the_term_and_not_dropped():
    assert found("LGBTQ+ and LGBT+ and LGBTQIA+ and LGBT") == [
        ("sexual-orientation", "LGBTQ+"), ("sexual-orientation", "LGBT+"), ("sexual-orientation", "LGBTQIA+"),
        ("sexual-orientation", "LGBT")]


def test_plus_sign_at_the_end_of_a_sentence():
    assert found("She chairs the network for LGBTQ+.") == [("sexual-orientation", "LGBTQ+")]


# --- case -------------------------------------------------------------------------------------


def test_matching_ignores_case_and_keeps_the_text_as_written():
    assert found("bame, Bame, BAME and B.A.M.E.") == [
        ("race", "bame"), ("race", "Bame"), ("race", "BAME"), ("race", "B.A.M.E")]
    assert found("DISABILITY and Disability") == [("disability", "DISABILITY"), ("disability", "Disability")]


def test_curly_apostrophe_after_a_term_still_matches():
    assert found("the women’s network") == [("sex", "women")]


def test_empty_text_has_no_mentions():
    assert find_mentions("") == []


# --- file validation --------------------------------------------------------------------------


def test_shipped_file_checks_clean_from_the_command_line(capsys):
    assert main([str(DEFAULT_PATH)]) == 0
    assert capsys.readouterr().out.startswith(f"{DEFAULT_PATH}: OK (15 terms, ")


def test_every_problem_is_reported_at_once(tmp_path, document):
    broken = copy.deepcopy(document)
    broken["schema_version"] = 2
    broken["kind"] = "rubric"
    broken["protected_characteristics"][0]["synonyms"].append("")
    broken["protected_characteristics"][5]["id"] = "ethnicity"
    broken["protected_characteristics"][7]["synonyms"].append("BAME")
    broken["discrimination_types"][4]["definiton"] = broken["discrimination_types"][4].pop("definition")
    path = write(tmp_path, broken)

    with pytest.raises(ValidationFailed) as caught:
        load_vocabulary(path)

    assert caught.value.problems == [
        Problem(path, "schema_version", "version 2 is newer than this workbench reads (1); update the workbench."),
        Problem(path, "kind", "'rubric' is not allowed; use kind: vocabulary."),
        Problem(path, "protected_characteristics[0].synonyms[20]",
                "'' is not a word or phrase; write it as text in quotes, or delete the line."),
        Problem(path, "protected_characteristics[5].id",
                "'ethnicity' is not one of the 9 ids here. Use one of: age, disability, gender-reassignment, "
                "marriage-civil-partnership, pregnancy-maternity, race, religion-belief, sex, sexual-orientation."),
        Problem(path, "protected_characteristics[7].synonyms[14]",
                "'BAME' is also listed under 'ethnicity'; a phrase can belong to one entry only."),
        Problem(path, "protected_characteristics", "has no entry for race."),
        Problem(path, "discrimination_types[4].definiton",
                "unknown key 'definiton'. Did you mean 'definition'? Allowed keys here: id, label, definition, "
                "synonyms."),
        Problem(path, "discrimination_types[4].definition",
                "the definition is missing or empty; write it as text in quotes."),
    ]


def test_missing_characteristic_is_named(tmp_path, document):
    del document["protected_characteristics"][2]
    path = write(tmp_path, document)

    with pytest.raises(ValidationFailed) as caught:
        load_vocabulary(path)

    assert caught.value.problems == [Problem(path, "protected_characteristics", "has no entry for "
                                             "gender-reassignment; add one for each (all 9 are needed).")]


def test_duplicate_id_and_non_list_synonyms(tmp_path, document):
    document["discrimination_types"][1]["id"] = "direct"
    document["discrimination_types"][0]["synonyms"] = "treated less favourably"
    path = write(tmp_path, document)

    with pytest.raises(ValidationFailed) as caught:
        load_vocabulary(path)

    assert caught.value.problems == [
        Problem(path, "discrimination_types[0].synonyms", "should be a list, one entry per line starting with '- '."),
        Problem(path, "discrimination_types[1].id",
                "duplicate id 'direct' (also at discrimination_types[0]); keep one entry per id."),
        Problem(path, "discrimination_types", "has no entry for associative."),
    ]


def test_phrase_without_letters_can_never_match(tmp_path, document):
    document["protected_characteristics"][1]["synonyms"] = ["+++"]
    path = write(tmp_path, document)

    with pytest.raises(ValidationFailed) as caught:
        load_vocabulary(path)

    assert caught.value.problems == [Problem(path, "protected_characteristics[1].synonyms[0]",
                                             "'+++' has no letters or digits, so it can never be found; "
                                             "write a word or phrase.")]


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "equality.yaml"
    path.write_text("schema_version: 1\nkind: vocabulary\nprotected_characteristics:\n  - id: age\n   label: x\n",
                    encoding="utf-8")

    with pytest.raises(ValidationFailed) as caught:
        load_vocabulary(path)

    [problem] = caught.value.problems
    assert (problem.file, problem.path) == (str(path), "line 5, column 4")
    assert problem.message.startswith("this is not valid YAML (")


def test_missing_file_says_where_the_shipped_one_is(tmp_path):
    with pytest.raises(NotFound, match=f"No vocabulary file at {tmp_path / 'none.yaml'}. Check the path; the "
                                       "shipped one is"):
        load_vocabulary(tmp_path / "none.yaml")


def test_not_a_mapping():
    with pytest.raises(ValidationFailed) as caught:
        vocabulary_from_document(["age"], file="v.yaml")

    assert caught.value.problems == [
        Problem("v.yaml", "", "the file should be a YAML mapping starting with 'schema_version: 1'.")]


def test_a_custom_vocabulary_is_used_when_passed(tmp_path, document):
    document["protected_characteristics"][0]["synonyms"] = ["pensioner"]
    vocabulary = load_vocabulary(write(tmp_path, document))

    assert [(m.term_id, m.matched_text) for m in find_mentions("Pensioners and older people", vocabulary=vocabulary)
            ] == [("age", "Pensioners")]
