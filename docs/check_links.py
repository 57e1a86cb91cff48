"""Check every internal link and anchor of the built documentation site.

Usage: python docs/check_links.py [SITE_DIR]   (default: site)

Reads every ``*.html`` file under SITE_DIR, collects the ids each page defines, and checks that
every relative ``href``/``src`` points at a file that exists and, when it carries a ``#fragment``
into an HTML page, at an id defined on that page. External links (with a scheme, ``//host`` or
``mailto:``) are not followed: the check runs offline. Exits 1 listing each broken link.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src"}


@dataclass(frozen=True)
class BrokenLink:
    page: str
    url: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page}: {self.url}: {self.reason}"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        attribute = LINK_ATTRIBUTES.get(tag)
        if attribute and attribute in values:
            self.links.append(values[attribute])


def parse_page(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def resolve(site: Path, page: Path, path: str) -> Path:
    """The file a relative URL path names, from PAGE (a directory URL means its index.html)."""
    if path.startswith("/"):
        target = site / unquote(path.lstrip("/"))
    else:
        target = page.parent / unquote(path)
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def check_site(site: Path) -> list[BrokenLink]:
    pages = {path.resolve(): parse_page(path) for path in sorted(site.rglob("*.html"))}
    broken: list[BrokenLink] = []
    root = site.resolve()
    for page, parsed in pages.items():
        name = str(PurePosixPath(page.relative_to(root)))
        for url in parsed.links:
            problem = _check_link(root, page, url, pages)
            if problem:
                broken.append(BrokenLink(name, url, problem))
    return broken


def _check_link(root: Path, page: Path, url: str, pages: dict[Path, _PageParser]) -> str | None:
    if not url or is_external(url):
        return None
    parts = urlsplit(url)
    target = resolve(root, page, parts.path) if parts.path else page
    target = target.resolve()
    if not target.is_relative_to(root):
        return "points outside the site"
    if not target.is_file():
        return "no such file"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html":
        ids = pages[target].ids if target in pages else parse_page(target).ids
        if fragment not in ids:
            return f"no anchor #{fragment} on {target.relative_to(root)}"
    return None


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "site")
    if not (site / "index.html").is_file():
        print(
            f"error: {site}/index.html not found; build the site first (make docs)", file=sys.stderr
        )
        return 1
    broken = check_site(site)
    for link in broken:
        print(link, file=sys.stderr)
    pages = len(list(site.rglob("*.html")))
    if broken:
        print(f"{len(broken)} broken internal link(s) in {pages} pages", file=sys.stderr)
        return 1
    print(f"links ok: {pages} pages, every internal link and anchor resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
