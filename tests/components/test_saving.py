"""A saved pipeline: settings only in config.cfg, rules in the components' folders, same claims after spacy.load.

Loading runs in a fresh interpreter, where spaCy finds the factories through
the package's entry points and the rule files given to build_nlp are gone.
"""

import inspect
import json
import subprocess
import sys
from dataclasses import asdict

import pytest
import spacy

from pipeline.components import RuleFiles, RulesError, build_nlp
from pipeline.config import CLAIM_CUES_FILE, CONTEXT_TERMS_FILE

CUSTOM_TEXT = ("The muscle deflates with repeated use. It perchance wears off in 3 months. "
               "Results last abt. 4 months after that.\nIt is not permanent.")


def claims_of(nlp, texts):
    """Per text, its claim records and its claims as spans: all that a loaded pipeline must give back."""
    return [[[asdict(c) for c in doc._.claim_records], [[s.label_, s.start_char, s.end_char] for s in doc._.claims]]
            for doc in nlp.pipe(texts)]


# a fresh interpreter runs the same claims_of on the pipeline spacy.load finds in each folder
PROBE = ("import json, sys\nimport spacy\nfrom dataclasses import asdict\n" + inspect.getsource(claims_of)
         + "texts = json.loads(sys.argv[1])\n"
         + "print(json.dumps({f: claims_of(spacy.load(f), texts) for f in sys.argv[2:]}))\n")


def loaded_claims(folders, texts) -> dict:
    """Per folder, the claims of the pipeline spacy.load finds there, in one fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(texts), *map(str, folders)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def custom_rules(tmp_path_factory):
    """Rule files of one's own: a cue, a hedge and an abbreviation the bundled files do not have."""
    folder = tmp_path_factory.mktemp("rules")
    cues = folder / "cues.jsonl"
    deflates = {"label": "atrophy", "id": "deflate", "pattern": "deflates"}
    cues.write_text(CLAIM_CUES_FILE.read_text() + json.dumps(deflates) + "\n")
    terms = json.loads(CONTEXT_TERMS_FILE.read_text())
    terms["hedged"]["preceding_negations"].append("perchance")
    terms["abbreviations"].append("abt")
    (folder / "terms.json").write_text(json.dumps(terms))
    return RuleFiles(cues, folder / "terms.json")


def test_custom_rules_take_effect(custom_rules):
    custom, bundled = build_nlp(None, custom_rules.claim_cues, custom_rules.context_terms), build_nlp()
    assert claims_of(custom, [CUSTOM_TEXT]) != claims_of(bundled, [CUSTOM_TEXT])
    records = custom(CUSTOM_TEXT)._.claim_records
    assert ("atrophy", "deflate") in {(c.claim_type, c.cue_id) for c in records}
    assert any(c.hedged and c.cue == "wears off" for c in records)
    assert "Results last abt. 4 months after that." in {c.text for c in records}


@pytest.fixture(scope="module")
def saved(nlp, custom_rules, seed_text, tmp_path_factory):
    """Four pipelines saved with to_disk, then loaded by spacy.load in one fresh interpreter with the custom rule
    files moved away: (folder, the claims before saving, the claims after loading) by name."""
    root, texts = tmp_path_factory.mktemp("saved"), [seed_text, CUSTOM_TEXT]
    pipelines = {"built": nlp, "custom": build_nlp(None, custom_rules.claim_cues, custom_rules.context_terms)}
    for name, rules in (("own_bundled", None), ("own_custom", custom_rules)):
        own = spacy.blank("en")
        component = own.add_pipe("medical_claims", config={"detector": "rules"})  # as `nlp` (build_nlp()) decides
        if rules is not None:
            component.use_rules(rules)
        pipelines[name] = own
    expected = {name: claims_of(pipeline, texts) for name, pipeline in pipelines.items()}
    for name, pipeline in pipelines.items():
        pipeline.to_disk(root / name)
    moved = root / "gone"  # the rule files are no longer where they were read from
    moved.mkdir()
    for path in (custom_rules.claim_cues, custom_rules.context_terms):
        path.rename(moved / path.name)
    try:
        loaded = loaded_claims([root / name for name in pipelines], texts)
    finally:
        for path in (custom_rules.claim_cues, custom_rules.context_terms):
            (moved / path.name).rename(path)
    return {name: (root / name, expected[name], loaded[str(root / name)]) for name in pipelines}


def test_a_built_pipeline_saves_a_small_config_and_loads_with_the_same_claims(saved):
    folder, expected, loaded = saved["built"]
    config = (folder / "config.cfg").read_text()
    assert len(config.encode()) < 5000 and "pattern" not in config and "termination" not in config
    assert (folder / "claim_cue_ruler" / "patterns.jsonl").exists()
    assert loaded == expected


def test_rules_from_custom_files_travel_inside_the_saved_folder(saved):
    _, expected, loaded = saved["custom"]
    assert loaded == expected and expected != saved["built"][1]


def test_medical_claims_round_trips_with_bundled_and_custom_rules(saved):
    for name in ("own_bundled", "own_custom"):
        folder, expected, loaded = saved[name]
        assert len((folder / "config.cfg").read_bytes()) < 5000
        assert loaded == expected
    assert saved["own_bundled"][1] == saved["built"][1]  # the component gives what build_nlp's pipeline gives


def test_rules_travel_in_bytes_and_through_initialize(custom_rules):
    custom = build_nlp(None, custom_rules.claim_cues, custom_rules.context_terms)
    expected = claims_of(custom, [CUSTOM_TEXT])
    assert claims_of(build_nlp().from_bytes(custom.to_bytes()), [CUSTOM_TEXT]) == expected
    initialized = build_nlp()
    for _, pipe in initialized.pipeline:
        if hasattr(pipe, "initialize"):
            pipe.initialize(rule_files=custom_rules)
    assert claims_of(initialized, [CUSTOM_TEXT]) == expected
    custom.initialize()  # spaCy's set-up, given no rule files, keeps the rules of one's own
    assert claims_of(custom, [CUSTOM_TEXT]) == expected


def test_a_bad_rules_file_is_an_error_naming_file_and_line_before_anything_is_built(tmp_path):
    bad = tmp_path / "cues.jsonl"
    bad.write_text(json.dumps({"label": "atrophy", "id": "x", "pattern": "shrink"}) + "\n{not json\n")
    with pytest.raises(RulesError, match="cues.jsonl:2: not JSON"):
        build_nlp(None, claim_cues=bad)
    bad.write_text(json.dumps({"label": "atrophy", "id": "x", "pattern": "shrinks", "requires": "moon_phase"}) + "\n")
    with pytest.raises(RulesError, match="unknown contexts"):
        build_nlp(None, claim_cues=bad)

