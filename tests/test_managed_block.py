from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.managed_block import find_block, remove_block, upsert_block

TEXT = st.text(alphabet=st.sampled_from("ab \n#<>-"), max_size=40)
CONTENT = st.text(alphabet=st.sampled_from("xyz \n"), max_size=20)


@given(original=TEXT, content=CONTENT, other=CONTENT)
def test_insert_update_remove_restores_the_original(
    original: str, content: str, other: str
) -> None:
    once = upsert_block(original, "one", content)
    assert upsert_block(once, "one", content) == once  # idempotent
    both = upsert_block(once, "two", other, comment="<!--")
    updated = upsert_block(both, "one", other)
    assert remove_block(remove_block(updated, "one"), "two", comment="<!--") == original
    assert remove_block(remove_block(both, "two", comment="<!--"), "one") == original


def test_block_content_is_found() -> None:
    text = upsert_block("user text\n", "completion", "eval x")
    assert find_block(text, "completion") == "eval x\n"
    assert text.startswith("user text\n\n# >>> nexus:completion >>>\n")
    assert find_block("nothing", "completion") is None


def test_user_text_after_the_block_is_kept() -> None:
    text = upsert_block("before\n", "a", "x") + "after\n"
    assert remove_block(text, "a") == "before\nafter\n"


def test_a_line_written_below_the_block_is_not_joined_to_the_line_above() -> None:
    """The user took out the blank line above the block and wrote a line below it."""
    installed = upsert_block("export FOO=1\n", "completion", "eval x")
    edited = installed.replace("export FOO=1\n\n", "export FOO=1\n") + "alias x=y\n"
    assert remove_block(edited, "completion") == "export FOO=1\nalias x=y\n"
