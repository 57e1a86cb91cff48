"""The documentation site's link checker (docs/check_links.py) and the real strict build."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_links", ROOT / "docs" / "check_links.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


check_links = _load_checker()


def _page(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!doctype html><html><body>{body}</body></html>", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    _page(root / "index.html", '<h1 id="top">Home</h1><a href="guide/intro.html#setup">intro</a>')
    _page(
        root / "guide" / "intro.html",
        '<h2 id="setup">Set-up</h2><a name="legacy"></a>'
        '<a href="../index.html#top">home</a> <a href="#legacy">here</a> <a href="#">top</a>'
        '<a href="./">index of guide</a> <a href="https://example.org/x#y">out</a>'
        '<a href="mailto:a@example.org">mail</a> <img src="../img/a%20b.png">',
    )
    _page(root / "guide" / "index.html", "<p>guide</p>")
    (root / "img").mkdir()
    (root / "img" / "a b.png").write_bytes(b"png")
    return root


def test_a_consistent_site_has_no_broken_links(site: Path) -> None:
    assert check_links.check_site(site) == []


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("missing.html", "no such file"),
        ("guide/intro.html#nowhere", "no anchor #nowhere on guide/intro.html"),
        ("#not-here", "no anchor #not-here on index.html"),
        ("img/", "no such file"),
        ("../../etc/passwd", "points outside the site"),
    ],
)
def test_each_kind_of_broken_link_is_reported(site: Path, href: str, reason: str) -> None:
    _page(site / "index.html", f'<h1 id="top">Home</h1><a href="{href}">bad</a>')
    broken = check_links.check_site(site)
    assert [(b.page, b.url, b.reason) for b in broken] == [("index.html", href, reason)]


def test_main_lists_broken_links_and_exits_1(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _page(site / "guide" / "index.html", '<a href="../gone.html">gone</a>')
    assert check_links.main(["check_links.py", str(site)]) == 1
    err = capsys.readouterr().err
    assert "guide/index.html: ../gone.html: no such file" in err
    assert "1 broken internal link(s) in 3 pages" in err


def test_main_without_a_built_site_says_how_to_build_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "check_links.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "build the site first (make docs)" in result.stderr


def _build_copy(
    tmp_path: Path, extra: dict[str, str] | None = None
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Build a copy of the real docs (mkdocs.yml + docs/, plus EXTRA pages) strictly, as
    `make docs` does."""
    zensical = shutil.which("zensical", path=str(Path(sys.executable).parent))
    if zensical is None:
        pytest.skip("zensical is not installed (pip install -e '.[docs]')")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for name, text in (extra or {}).items():
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    return tmp_path, subprocess.run(
        [zensical, "build", "--strict", "--clean"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_real_site_builds_strict_and_every_link_resolves(tmp_path: Path) -> None:
    root, result = _build_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    site = root / "site"
    for page in ("index.html", "cli.html", "tutorial/getting-started.html", "adr/index.html"):
        assert (site / page).is_file(), page
    assert check_links.check_site(site) == []


def test_a_broken_link_in_a_page_fails_the_docs_check(tmp_path: Path) -> None:
    page = "# Broken\n\n[gone](journeys/nowhere/)\n"
    root, result = _build_copy(tmp_path, {"broken.md": page})
    # A link to a folder without an index page passes the strict build; the checker catches it.
    assert result.returncode == 0, result.stdout + result.stderr
    broken = check_links.check_site(root / "site")
    assert [(b.page, b.url) for b in broken] == [("broken.html", "journeys/nowhere/")]


def test_a_missing_page_or_anchor_fails_the_strict_build(tmp_path: Path) -> None:
    page = "# Broken\n\n[a](no-such-page.md) [b](cli.md#no-such-anchor)\n"
    _, result = _build_copy(tmp_path, {"broken.md": page})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "page does not exist" in output
    assert "anchor does not exist" in output


MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md"])
def test_root_pages_link_only_to_files_that_exist(name: str) -> None:
    """README and CONTRIBUTING live outside the site: their relative links are checked here."""
    text = (ROOT / name).read_text(encoding="utf-8")
    targets = [t for t in MARKDOWN_LINK.findall(text) if not check_links.is_external(t)]
    assert targets, f"{name} has no relative links to check"
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert missing == []


def test_readme_links_the_contributor_guide() -> None:
    assert "](CONTRIBUTING.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
