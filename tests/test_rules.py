"""The rules file: valid, and every rule passes its own examples."""

from __future__ import annotations

import pytest

from newsmill.clean import (
    KINDS,
    ZONES,
    check_rule_examples,
    clean_lines,
    default_rules,
    load_rules,
    parse_rules,
)


def test_shipped_rules_pass_their_examples():
    assert check_rule_examples() == []


def test_every_rule_has_an_id_kind_zone_and_examples():
    rules = default_rules().rules
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.kind in KINDS
        assert rule.zone in ZONES
        assert rule.description, rule.id
        assert rule.examples_remove, rule.id
        assert rule.examples_keep, rule.id


@pytest.mark.parametrize("rule", default_rules().rules, ids=lambda r: r.id)
def test_rule_examples_one_by_one(rule):
    """Same check as check_rule_examples, reported per rule."""
    assert [p for p in check_rule_examples() if p.startswith(f"{rule.id}:")] == []


def test_check_reports_a_rule_that_misses_its_example(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(
        """
[[rule]]
id = "bad"
kind = "line"
zone = "anywhere"
description = "matches nothing useful"
pattern = 'zzz'
examples.remove = ["Sign up for our newsletter"]
examples.keep = ["zzz"]
""",
        encoding="utf-8",
    )
    problems = check_rule_examples(load_rules(path))
    assert any("remove example kept" in p for p in problems)
    assert any("keep example lost" in p for p in problems)


def test_check_reports_missing_examples():
    rules = parse_rules({"rule": [{"id": "x", "kind": "line", "pattern": "x"}]})
    problems = check_rule_examples(rules)
    assert "x: no examples.remove" in problems
    assert "x: no examples.keep" in problems


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "x", "kind": "nope", "pattern": "x"},
        {"id": "x", "zone": "middle", "pattern": "x"},
        {"id": "x", "pattern": "(unclosed"},
        {"kind": "line", "pattern": "x"},
    ],
    ids=["bad-kind", "bad-zone", "bad-regex", "no-id"],
)
def test_invalid_rules_are_rejected(raw):
    with pytest.raises(ValueError, match="rule"):
        parse_rules({"rule": [raw]})


def test_a_custom_rule_set_is_used_instead_of_the_default(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(
        """
[[rule]]
id = "house-style"
kind = "line"
pattern = 'this article first appeared in .{1,60}'
examples.remove = ["This article first appeared in The Weekly"]
examples.keep = ["It first appeared in print."]
""",
        encoding="utf-8",
    )
    rules = load_rules(path)
    text = "A long enough story paragraph that is plainly content and stays.\n"
    result = clean_lines(text + "This article first appeared in The Weekly", rules=rules)
    assert [r.rule for r in result.removed] == ["house-style"]


def test_a_pattern_in_upper_case_is_refused():
    """Lines are lowered once and matched case-sensitively, so 'Read More' could never match."""
    raw = {"rule": [{"id": "x", "kind": "line", "pattern": "Read More", "examples": {}}]}
    with pytest.raises(ValueError, match="lower case"):
        parse_rules(raw)
    raw["rule"][0]["pattern"] = r"read more\S*"
    assert parse_rules(raw).rules[0].id == "x"
