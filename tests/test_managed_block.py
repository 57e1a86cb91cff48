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
