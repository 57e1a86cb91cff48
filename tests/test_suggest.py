from __future__ import annotations

from nexus_cli.suggest import close_matches, did_you_mean


def test_a_typo_suggests_the_name() -> None:
    assert close_matches("develper", ["developer", "designer", "devops"])[0] == "developer"


def test_a_part_of_a_hyphenated_name_suggests_the_whole() -> None:
    assert "software-architect" in close_matches("architect", ["software-architect", "testing"])


def test_nothing_close_gives_no_hint() -> None:
    assert did_you_mean("zzzz", ["developer", "testing"]) is None
    assert did_you_mean("x", []) is None


def test_hint_lists_at_most_three_best_first() -> None:
    hint = did_you_mean("web1", ["web1a", "web10", "web11", "web12", "db"])
    assert hint is not None and hint.startswith("did you mean ")
    assert hint.count("'") == 6 and "db" not in hint


def test_the_start_of_a_name_or_of_a_part_suggests_it() -> None:
    names = ["feature-development", "incident-response"]
    assert close_matches("featur", names) == ["feature-development"]
    assert close_matches("respon", names) == ["incident-response"]
    assert close_matches("fe", names) == []  # two characters are not enough to guess from
