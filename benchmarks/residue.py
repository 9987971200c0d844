"""Residue benchmark: how much boilerplate the cleaner leaves, and how much article text it loses.

Pages written for this benchmark (``benchmarks/residue_pages/<lang>/*.txt``, format in the README
there) mark every line as article text or boilerplate of one pattern. Each page is run twice:
rendered as an HTML page through :func:`pipeline.clean.clean_html`, and as plain text through
:func:`pipeline.clean.clean_text`. A boilerplate line counts as removed when fewer than half of its
word 3-grams are left in one output line of similar length (short lines: when no output line contains
it); an article line
counts as lost unless it is found whole in the output.

Usage: python benchmarks/residue.py [--lang fr] [--format html|text|both] [--out FILE] [--misses]
       [--write-html DIR]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from extraction import command_line, publish  # noqa: E402
from pipeline.clean import clean_html, clean_text  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "residue_pages"
LANGUAGES = ("fr", "de", "en", "es", "it")
ARTICLE_TAGS = {"p": "paragraph", "h": "sub-heading", "li": "content list", "ci": "content list",
                "cl": "short closing line"}
BOILERPLATE_TAGS = {"tl": "teaser, usual label", "tf": "teaser, accentless/typo label", "tu": "teaser, no known label",
                    "sh": "share/follow line", "nl": "newsletter/cookie line", "ck": "newsletter/cookie line"}
RELATED_TAGS = ("rh", "rt", "rs", "rm")
ARTICLE_ELEMENTS = {"p": "p", "cl": "p", "h": "h2", "ci": "h3"}
LAYOUTS = ("aside", "inline", "cards")
SITE_WORDS = {
    "fr": ("Accueil", "Santé", "Nutrition", "Mentions légales"),
    "de": ("Startseite", "Gesundheit", "Ernährung", "Impressum"),
    "en": ("Home", "Health", "Nutrition", "Privacy policy"),
    "es": ("Inicio", "Salud", "Nutrición", "Aviso legal"),
    "it": ("Home", "Salute", "Alimentazione", "Note legali"),
}
_TOKEN = re.compile(r"\w+")
_TEASER_SPLIT = re.compile(r"^(?P<label>.{1,60}?)\s*(?P<sep>:|>>|»|\|)\s+(?P<title>.+)$")


@dataclass
class Line:
    tag: str
    text: str
    pattern: str


@dataclass
class ResiduePage:
    """One benchmark page: its language, title, HTML layout and tagged lines."""

    path: Path
    language: str
    title: str
    layout: str
    lines: list[Line]

    @property
    def name(self) -> str:
        return f"{self.language}/{self.path.stem}"


def _related_patterns(tags: list[str]) -> list[str | None]:
    """Pattern of each related-block line: a list of headlines, of headlines with snippets, or mid-text."""
    patterns: list[str | None] = [None] * len(tags)
    index = 0
    while index < len(tags):
        if tags[index] not in RELATED_TAGS:
            index += 1
            continue
        end = index
        while end < len(tags) and tags[end] in RELATED_TAGS:
            end += 1
        if any(tag in ARTICLE_TAGS for tag in tags[end:]):
            name = "related block inside the text"
        elif "rs" in tags[index:end]:
            name = "related list: headline + snippet"
        else:
            name = "related list: headlines"
        patterns[index:end] = [name] * (end - index)
        index = end
    return patterns


def load_page(path: Path, position: int) -> ResiduePage:
    """Parse one page file; ``position`` in its folder picks the default layout."""
    title, layout, raw = "", LAYOUTS[position % len(LAYOUTS)], []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip() or text.startswith("#"):
            continue
        if text.startswith("title:"):
            title = text.split(":", 1)[1].strip()
        elif text.startswith("layout:"):
            layout = text.split(":", 1)[1].strip()
        else:
            tag, _, body = text.partition(" ")
            if tag not in ARTICLE_TAGS and tag not in BOILERPLATE_TAGS and tag not in RELATED_TAGS:
                raise ValueError(f"{path}:{number}: unknown tag {tag!r}")
            raw.append((tag, body.strip()))
    related = _related_patterns([tag for tag, _ in raw])
    lines = [Line(tag, body, related[i] or ARTICLE_TAGS.get(tag) or BOILERPLATE_TAGS[tag])
             for i, (tag, body) in enumerate(raw)]
    return ResiduePage(path, path.parent.name, title, layout, lines)


def load_pages(languages=LANGUAGES) -> list[ResiduePage]:
    return [load_page(path, position) for language in languages
            for position, path in enumerate(sorted((PAGES_DIR / language).glob("*.txt")))]


# --- rendering ------------------------------------------------------------------------------

def render_text(page: ResiduePage) -> str:
    """The page as plain text: title, then one line per paragraph (list items with "- ")."""
    return "\n".join([page.title] + [("- " if line.tag == "li" else "") + line.text for line in page.lines])


def _link(text: str, number: int) -> str:
    return f'<a href="/article-{number}.html">{html.escape(text)}</a>'


def _teaser_html(line: Line, number: int) -> str:
    split = _TEASER_SPLIT.match(line.text)
    if not split:
        return f"<p>{_link(line.text, number)}</p>"
    label = html.escape(split.group("label") + " " + split.group("sep"))
    return f"<p><strong>{label}</strong> {_link(split.group('title'), number)}</p>"


def _related_html(block: list[Line], layout: str, start: int) -> list[str]:
    """A related-articles block in the page's layout."""
    out: list[str] = []
    if layout == "inline":
        for offset, line in enumerate(block):
            if line.tag == "rh":
                out.append(f"<p><strong>{html.escape(line.text)}</strong></p>")
            elif line.tag == "rt":
                out.append(f"<p>{_link(line.text, start + offset)}</p>")
            else:
                out.append(f'<p class="{line.tag}">{html.escape(line.text)}</p>')
        return out
    cards = layout == "cards"
    out.append('<section class="more-articles">' if cards else '<aside class="related">')
    items: list[list[str]] = []
    for offset, line in enumerate(block):
        next_tag = block[offset + 1].tag if offset + 1 < len(block) else None
        if line.tag == "rh":
            out.append(f"<h2>{html.escape(line.text)}</h2>" if cards else f"<h3>{html.escape(line.text)}</h3>")
        elif not items or line.tag == "rm" and next_tag == "rt" or line.tag == "rt" and not (
                len(items[-1]) == 1 and items[-1][0].startswith("<time")):
            items.append([])
        if line.tag == "rt":
            items[-1].append(f"<h3>{_link(line.text, start + offset)}</h3>" if cards else _link(line.text, start + offset))
        elif line.tag == "rs":
            items[-1].append(f"<p>{html.escape(line.text)}</p>")
        elif line.tag == "rm":
            items[-1].append(f"<time>{html.escape(line.text)}</time>")
    if cards:
        out += ['<div class="card">' + "".join(item) + "</div>" for item in items if item]
        out.append("</section>")
    else:
        out += ["<ul>"] + ["<li>" + "".join(item) + "</li>" for item in items if item] + ["</ul>", "</aside>"]
    return out


def render_html(page: ResiduePage) -> str:
    """The page as a web page: navigation, article, furniture and related blocks placed by its layout."""
    home, section, other, legal = SITE_WORDS[page.language]
    inline = page.layout == "inline"
    body: list[str] = [f"<h1>{html.escape(page.title)}</h1>"]
    after: list[str] = []
    top: list[str] = []
    lines = page.lines
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.tag in RELATED_TAGS:
            end = index
            while end < len(lines) and lines[end].tag in RELATED_TAGS:
                end += 1
            block = _related_html(lines[index:end], page.layout, index)
            trailing = not any(other_line.tag in ARTICLE_TAGS for other_line in lines[end:])
            (after if trailing and page.layout == "aside" else body).extend(block)
            index = end
            continue
        text = html.escape(line.text)
        if line.tag in ARTICLE_ELEMENTS:
            element = ARTICLE_ELEMENTS[line.tag]
            body.append(f"<{element}>{text}</{element}>")
        elif line.tag == "li":
            items = []
            while index < len(lines) and lines[index].tag == "li":
                items.append(f"<li>{html.escape(lines[index].text)}</li>")
                index += 1
            body.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line.tag in ("tl", "tf", "tu"):
            body.append(_teaser_html(line, index))
        elif inline:
            body.append(f"<p>{text}</p>")
        elif line.tag == "sh":
            after.append(f'<div class="share-buttons"><p>{text}</p></div>')
        elif line.tag == "nl":
            after.append(f'<aside class="newsletter"><p>{text}</p><form><input type="email"><button>OK</button></form></aside>')
        elif line.tag == "ck":
            top.append(f'<div id="cookie-banner"><p>{text}</p><button>OK</button></div>')
        index += 1
    container = ('<div class="post-content">', "</div>") if page.layout == "cards" else ("<article>", "</article>")
    return "\n".join([
        "<!DOCTYPE html>", f'<html lang="{page.language}">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(page.title)} | Exemple</title>", "</head>", "<body>", *top,
        f'<header><nav><ul><li><a href="/">{home}</a></li><li><a href="/s">{section}</a></li>'
        f'<li><a href="/n">{other}</a></li></ul></nav></header>',
        "<main>", container[0], *body, container[1], *after, "</main>",
        f'<footer><p>© 2024 Exemple – <a href="/legal">{legal}</a></p></footer>', "</body>", "</html>",
    ])


# --- scoring --------------------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(text.split())


def _trigrams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)}


def line_outcomes(page: ResiduePage, output: str) -> list[bool]:
    """For each line: is it still in ``output``? (article: found whole; boilerplate: see module doc)."""
    flat = _norm(output)
    output_lines = [_norm(line).casefold() for line in output.splitlines()]
    output_tokens = [_TOKEN.findall(line) for line in output_lines]
    present = []
    for line in page.lines:
        if line.tag in ARTICLE_TAGS:
            present.append(_norm(line.text) in flat)
            continue
        tokens = _TOKEN.findall(line.text.casefold())
        if len(tokens) >= 3:
            grams = _trigrams(tokens)
            present.append(any(len(grams & _trigrams(out)) >= 0.5 * len(grams) and len(out) <= 2 * len(tokens) + 3
                               for out in output_tokens))
        else:
            short = _norm(line.text).casefold()
            present.append(any(short in out and len(out) <= 3 * len(short) + 4 for out in output_lines))
    return present


@dataclass
class Run:
    """Outputs of one format over all pages."""

    outcomes: dict[str, list[bool]]
    seconds: float


def run(pages: list[ResiduePage], fmt: str) -> Run:
    outcomes, seconds = {}, 0.0
    clean_text("Warm-up text. " * 5)  # load the embedder and caches before timing
    for page in pages:
        start = time.perf_counter()
        if fmt == "html":
            output = clean_html(render_html(page), input=page.name).text
        else:
            output = clean_text(render_text(page), input=page.name).text
        seconds += time.perf_counter() - start
        outcomes[page.name] = line_outcomes(page, output)
    return Run(outcomes, seconds)


def _share(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:.1f}%" if denominator else "-"


def tallies(pages: list[ResiduePage], runs: dict[str, Run], key) -> dict:
    """{group: {format: [boilerplate lines, removed, article lines, lost]}} with ``key(page, line)`` -> group."""
    table: dict = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for fmt, result in runs.items():
        for page in pages:
            for line, present in zip(page.lines, result.outcomes[page.name]):
                for group in (key(page, line), "all"):
                    counts = table[group][fmt]
                    if line.tag in ARTICLE_TAGS:
                        counts[2] += 1
                        counts[3] += not present
                    else:
                        counts[0] += 1
                        counts[1] += not present
    return table


def markdown_report(pages: list[ResiduePage], runs: dict[str, Run], command: str, show_misses: bool) -> str:
    formats = list(runs)
    by_language = tallies(pages, runs, lambda page, line: page.language)
    by_pattern = tallies(pages, runs, lambda page, line: line.pattern)
    lines = [
        "# Residue benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"{len(pages)} pages written for this benchmark (`benchmarks/residue_pages/`), each run as HTML "
        "(`clean_html`) and as plain text (`clean_text`). Removed = share of boilerplate lines gone from the "
        "output; lost = share of article lines not found whole in the output. Targets: removed ≥ 98%, "
        "lost ≤ 0.5%, per language.",
        "",
        "## Per language",
        "",
        "| language | pages | format | boilerplate lines | removed | article lines | lost |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for language in [*LANGUAGES, "all"]:
        if language not in by_language:
            continue
        n_pages = sum(page.language == language or language == "all" for page in pages)
        for fmt in [*formats, "both"]:
            counts = ([sum(by_language[language][f][k] for f in formats) for k in range(4)] if fmt == "both"
                      else by_language[language][fmt])
            lines.append(f"| {language} | {n_pages} | {fmt} | {counts[0]} | {_share(counts[1], counts[0])} | "
                         f"{counts[2]} | {_share(counts[3], counts[2])} |")
    lines += ["", "## Per pattern", "", "| pattern | kind | lines per format | "
              + " | ".join(f"{fmt}" for fmt in formats) + " |", "|---|---|---:|" + "---:|" * len(formats)]
    patterns = sorted({line.pattern for page in pages for line in page.lines},
                      key=lambda name: (name in ARTICLE_TAGS.values(), name))
    for pattern in patterns:
        article = pattern in ARTICLE_TAGS.values()
        cells = []
        for fmt in formats:
            counts = by_pattern[pattern][fmt]
            cells.append(f"{_share(counts[3], counts[2])} lost" if article else f"{_share(counts[1], counts[0])} removed")
        total = by_pattern[pattern][formats[0]][2 if article else 0]
        lines.append(f"| {pattern} | {'article' if article else 'boilerplate'} | {total} | " + " | ".join(cells) + " |")
    lines += ["", "Time per page: " + ", ".join(
        f"{fmt} {1000 * result.seconds / len(pages):.1f} ms" for fmt, result in runs.items()) + "."]
    misses = [(fmt, page.name, line) for fmt, result in runs.items() for page in pages
              for line, present in zip(page.lines, result.outcomes[page.name])
              if present == (line.tag not in ARTICLE_TAGS)]
    if show_misses:
        lines += ["", "## Misses", "", "| format | page | kind | line |", "|---|---|---|---|"]
        lines += [f"| {fmt} | {name} | {'article lost' if line.tag in ARTICLE_TAGS else 'boilerplate kept'} "
                  f"({line.pattern}) | {line.text[:90].replace('|', '/')} |" for fmt, name, line in misses]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=LANGUAGES, action="append", help="only these languages (repeatable)")
    parser.add_argument("--format", choices=("html", "text", "both"), default="both")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report to this file")
    parser.add_argument("--misses", action="store_true", help="list every boilerplate line kept / article line lost")
    parser.add_argument("--write-html", type=Path, default=None, metavar="DIR", help="also save the rendered HTML pages")
    args = parser.parse_args(argv)
    pages = load_pages(tuple(args.lang or LANGUAGES))
    if args.write_html:
        for page in pages:
            target = args.write_html / page.language / f"{page.path.stem}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render_html(page), encoding="utf-8")
    formats = ("html", "text") if args.format == "both" else (args.format,)
    runs = {fmt: run(pages, fmt) for fmt in formats}
    publish(markdown_report(pages, runs, command_line("residue.py", argv), args.misses), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
