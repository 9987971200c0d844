"""Turn a page into clean article text: trafilatura extraction plus a text-level cleaner.

The text cleaner (:func:`clean_text`) is pure regex/string work so it can run over a whole corpus.
It removes teasers ("Lire aussi : ...", "Lesen Sie auch"), unrelated trailing link lists,
share/follow/newsletter/cookie/advertisement lines and repeated paragraphs, and repairs
double-encoded UTF-8 ("Ã©" -> "é"). Every removal is reported with its reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from pipeline.errors import InputError
from pipeline.fetch import Page
from pipeline.lang import detect_language

Similarity = Callable[[Sequence[str]], Any]
"""texts -> L2-normalised embedding matrix (one row per text), e.g. a sentence encoder."""

STAT_KEYS: tuple[str, ...] = (
    "n_chars",
    "n_words",
    "n_paragraphs",
    "mean_paragraph_chars",
    "short_paragraph_ratio",
    "digit_ratio",
    "uppercase_ratio",
    "n_urls",
    "teasers_removed",
    "trailing_links_removed",
    "share_lines_removed",
    "cookie_lines_removed",
    "newsletter_lines_removed",
    "ads_removed",
    "duplicates_removed",
    "mojibake_fixed",
    "link_density",
    "removed_chars_ratio",
)

SIMILARITY_THRESHOLD = 0.3
"""Cosine similarity below which a trailing headline block is unrelated to the article."""
MIN_TRAILING_RUN = 2
"""Without a similarity function, this many trailing headline/link lines make a link list."""
MAX_BLOCK_LINES = 15
TEASER_TITLE_MAX_WORDS = 25
BLURB_MAX_WORDS = 35
SHORT_PARAGRAPH_WORDS = 8
MIN_MAIN_TEXT_WORDS = 5
"""Fewer words extracted from a page means only menus or buttons were found."""
MIN_DUPLICATE_WORDS = 25
MIN_DUPLICATE_SENTENCE_CHARS = 100
FLAT_PARAGRAPH_CHARS = 1000
"""A paragraph this long is likely a whole text without line breaks: repeated sentences in it are dropped."""

# trafilatura options chosen by measurement (benchmarks/extraction.py, results in benchmarks/results/extraction.md).
# Tried on ScrapingHub (181 pages) and the first 300 trafilatura_eval pages, each + our cleaner:
# favor_precision gave the best F1 and precision on ScrapingHub (0.966 vs 0.964 default) and F1 above
# plain trafilatura on trafilatura_eval; deduplicate=True and include_tables=False lowered recall and F1.
TRAFILATURA_OPTIONS = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": True,
    "deduplicate": False,
}


@dataclass
class Removed:
    """A piece of text the cleaner removed, and why."""

    text: str
    reason: str


@dataclass
class CleanResult:
    """Clean article text with its metadata, removals and numeric features (``stats``)."""

    input: str
    title: str | None
    language: str
    text: str
    removed: list[Removed] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)


# --- patterns -------------------------------------------------------------------------------

def _alternation(phrases: Iterable[str]) -> str:
    ordered = sorted({p.replace(" ", r"\s+") for p in phrases}, key=len, reverse=True)
    return "(?:" + "|".join(ordered) + ")"


# Unambiguous "read this other story" phrases: a title may follow with or without a separator.
_STRONG_TEASER = [
    "sujet à lire", "avez-vous vu cela", "à lire aussi", "a lire aussi", "à lire également", "a lire également",
    "lire aussi", "lire également", "à découvrir aussi", "à découvrir également", "à voir aussi", "a voir aussi",
    "ceci pourrait vous intéresser", "cela pourrait vous intéresser", "vous aimerez aussi", "sur le même sujet",
    "dans la même rubrique", "articles similaires", "articles liés",
    "lesen sie auch", "lesen sie außerdem", "lesen sie mehr", "das könnte sie auch interessieren",
    "das könnte sie interessieren", "auch interessant", "ebenfalls interessant", "passend zum thema",
    "weitere artikel", "zum weiterlesen",
    "read also", "also read", "you may also like", "you might also like", "recommended for you",
    "related articles", "related stories", "related posts", "related news", "more stories",
    "ver también", "lee también", "lea también", "te puede interesar", "también te puede interesar",
    "puede interesarte", "artículos relacionados", "noticias relacionadas",
    "leggi anche", "potrebbe interessarti", "ti potrebbe interessare", "articoli correlati", "vedi anche",
    "leia também", "veja também", "lees ook",
]
# Ambiguous words ("Related diseases include ...") count only with a separator or alone on a line.
_WEAK_TEASER = [
    "related", "see also", "voir aussi", "siehe auch", "mehr zum thema", "more on this", "more from",
    "recommended", "trending", "don't miss", "à découvrir", "à voir", "más información", "leer más",
    "read more", "saiba mais", "lesen sie hier", "mehr dazu",
]
# Link buttons: removed when alone on a line, never start a block.
_BUTTONS = [
    "read more", "continue reading", "learn more", "lire la suite", "en savoir plus", "weiterlesen",
    "mehr lesen", "mehr erfahren", "leer más", "seguir leyendo", "continua a leggere", "leggi di più",
    "leia mais", "click here", "cliquez ici", "hier klicken",
]
_SEPARATOR = r"\s*(?P<sep>[:>»|–—-]+|\.\.\.|…)?\s*"
_TEASER_LINE = re.compile(
    r"^[^\w]{0,3}(?P<marker>" + _alternation(_STRONG_TEASER + _WEAK_TEASER) + r")(?!\w)" + _SEPARATOR + r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_STRONG_TEASER_RE = re.compile(_alternation(_STRONG_TEASER) + "$", re.IGNORECASE)
_INLINE_TEASER = re.compile(
    r"(?:(?<=[.!?…»\"”)])\s+|^)(?P<marker>" + _alternation(_STRONG_TEASER) + r")(?!\w)\s*(?:[:>»|–—-]+\s*)?"
    r"|(?:(?<=[.!?…»\"”)])\s+|^)(?P<weak>" + _alternation(_WEAK_TEASER) + r")\s*[:>»]\s*",
    re.IGNORECASE,
)
_TITLE_TO_TERMINATOR = re.compile(r"^(?:\S+\s+){0,%d}?\S*?[.!?…](?=\s|$)" % (TEASER_TITLE_MAX_WORDS - 1))
_BUTTON_LINE = re.compile(r"^[^\w]{0,3}" + _alternation(_BUTTONS) + r"\s*[.…>»:]*\W{0,3}$", re.IGNORECASE)

_SOCIAL = _alternation([
    "facebook", "twitter", "x", "whatsapp", "linkedin", "pinterest", "reddit", "telegram", "messenger", "xing",
    "e-?mail", "mail", "print", "imprimer", "drucken", "stampa", "imprimir", "copy link", "copier le lien",
    "link kopieren", "tweet", "tweeten", "pin it", "flipboard", "bluesky", "threads", "instagram", "youtube",
    "tiktok", "sms", "share", "partager", "teilen",
])
# One network name and what separates it from the next; the alternatives never overlap (no backtracking blow-up).
_SOCIAL_ITEM = "(?:" + _SOCIAL + r"(?:\s*[|·•,/-]\s*|\s+|$))"
_SHARE_LINE = re.compile(
    r"^\W{0,3}(?:share|partager|partagez|teilen|compartir|condividi|compartilhe|delen|email this|print this|"
    r"(?:diesen |den )?(?:artikel|beitrag) teilen|jetzt teilen)"
    r"(?:\s+(?:this|cet|ce|cette|diesen|den|este|esta|questo|l'|la|le|the)?\s*"
    r"(?:article|artikel|story|post|page|beitrag|artículo|articolo|página|pagina|seite|publication))?"
    r"(?:\s+(?:on|sur|auf|en|su|via|with|par))?\s*[:|]?\s*" + _SOCIAL_ITEM + r"*\W{0,3}$"
    r"|^\W{0,3}" + _SOCIAL_ITEM + r"{2,}\W{0,3}$",
    re.IGNORECASE,
)
_FOLLOW_LINE = re.compile(
    r"^\W{0,3}(?:follow us|suivez[- ]nous|folgen sie uns|folge uns|síguenos|siguenos|seguici|siga-nos|volg ons|"
    r"retrouvez-nous|find us on|like us on)\b",
    re.IGNORECASE,
)
_NEWSLETTER_START = re.compile(
    r"^\W{0,3}(?:sign up|subscribe|abonnez-vous|inscrivez-vous|abonnieren sie|jetzt abonnieren|jetzt anmelden|"
    r"melden sie sich|suscríbete|suscribete|suscríbase|iscriviti|inscreva-se|get our|receive our|recevez notre)\b",
    re.IGNORECASE,
)
_NEWSLETTER_WORD = re.compile(r"newsletter|infolettre|lettre d'information|boletín|bollettino", re.IGNORECASE)
_NEWSLETTER_ACTION = re.compile(
    r"sign[- ]?up|subscri|abonn|inscri|anmeld|abonnier|suscr|iscriv|e-?mail|inbox|gratuit|free|kostenlos|gratis",
    re.IGNORECASE,
)
_COOKIE_WORD = re.compile(r"cookie", re.IGNORECASE)
_COOKIE_CONTEXT = re.compile(
    r"accept|akzept|acepta|acepto|accett|consent|zustimm|einverstanden|utilis|we use|wir verwenden|nous utilisons|"
    r"usamos|utilizziamo|uses|verwendet|privacy|datenschutz|confidentialité|paramètres|einstellungen|settings|"
    r"preferences|préférences",
    re.IGNORECASE,
)
_COOKIE_BUTTONS = {
    "accept", "accept all", "accept cookies", "reject all", "manage preferences", "manage cookies",
    "tout accepter", "accepter", "refuser", "tout refuser", "alle akzeptieren", "akzeptieren", "ablehnen",
    "alle ablehnen", "aceptar", "aceptar todo", "rechazar", "accetta", "accetta tutto", "rifiuta",
}
_ADVERTISEMENT_LINES = {
    "advertisement", "advertisements", "advertising", "ad", "ads", "sponsored", "sponsored content", "paid content",
    "publicité", "publicite", "pub", "annonce", "contenu sponsorisé", "anzeige", "werbung", "gesponsert",
    "publicidad", "pubblicità", "pubblicita", "patrocinado", "continue reading below", "story continues below",
    "article continues below", "article continues below advertisement", "continue reading the main story",
    "scroll to continue with content", "la suite après cette publicité", "la suite après la publicité",
    "weiter nach der anzeige", "weiterlesen nach der anzeige", "artikel wird nach der anzeige fortgesetzt",
    "advertisement - scroll to continue", "supported by", "- advertisement -",
}
_REFERENCES_HEADING = re.compile(
    r"^\W{0,3}(?:references?|bibliography|sources?|literature|further reading|références|bibliographie|"
    r"literatur|quellen|quellenangaben|einzelnachweise|referencias|bibliografía|fuentes|bibliografia|riferimenti)"
    r"\W{0,3}$",
    re.IGNORECASE,
)
_REFERENCE_LIKE = re.compile(
    r"\bet al\b|\bdoi\b|\bpmid\b|https?://|\b(?:19|20)\d\d\b[;:.,)]|\(\s*(?:19|20)\d\d\s*\)|\b\d+\s*\(\d+\)\s*:\s*\d+",
    re.IGNORECASE,
)
_CONTACT_OR_NUMBER = re.compile(r"@|\d[\d ()./-]{6,}\d")
_BULLET = re.compile(r"^(?:[-•*·▪►>»]|\d{1,2}[.)])\s+")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[\"«“(]?[A-ZÀ-ÖØ-Þ0-9])")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HEADLINE_END = ".,;:"
_SENTENCE_END = ".!?…»\"”)"

# Characters that cp1252/latin-1 map to bytes 0x80-0xBF (UTF-8 continuation bytes).
_CONTINUATION = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE = re.compile(f"(?:[\u00c2-\u00f4][{_CONTINUATION}]+)+")
_MOJIBAKE_A_GRAVE = re.compile("\u00c3 (?=\\w)")


# --- helpers --------------------------------------------------------------------------------

def _normalize_line(line: str) -> str:
    return " ".join(line.split())


def _line_key(line: str) -> str:
    """Normalised form used to compare lines with each other and with link texts."""
    return _BULLET.sub("", line).casefold()


def _is_headline(line: str) -> bool:
    """Short, title-shaped line without closing punctuation (a story headline or a subheading)."""
    body = _BULLET.sub("", line)
    n_words = len(body.split())
    if not 2 <= n_words <= 16 or len(body) > 140 or body[-1] in _HEADLINE_END:
        return False
    if body.count(",") >= 2 or _CONTACT_OR_NUMBER.search(body):
        return False  # "Fruits: bananas, grapes, pears" or a press contact: content, not a headline
    first = body[0]
    return (first.isupper() or first.isdigit() or first in "\"'«“‘¿¡") and not _REFERENCE_LIKE.search(body)


def _is_blurb(line: str) -> bool:
    return len(line.split()) <= BLURB_MAX_WORDS and not _REFERENCE_LIKE.search(line)


def _to_cp1252_bytes(text: str) -> bytes:
    return bytes(ord(ch) if ord(ch) < 256 else ch.encode("cp1252")[0] for ch in text)


def repair_mojibake(text: str) -> tuple[str, int]:
    """Undo UTF-8 that was decoded as cp1252/latin-1 ("Ã©" -> "é"); return the text and the fix count."""
    fixes = 0

    def fix(match: re.Match) -> str:
        nonlocal fixes
        chunk = match.group(0)
        try:
            decoded = _to_cp1252_bytes(chunk).decode("utf-8")
        except (UnicodeError, IndexError):
            return chunk
        if any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) == "Mn" for ch in decoded):
            return chunk
        fixes += 1
        return decoded

    repaired = _MOJIBAKE.sub(fix, text)
    if fixes:
        # "à" is C3 A0; once the non-breaking space became a plain space only "Ã " is left.
        repaired, extra = _MOJIBAKE_A_GRAVE.subn("à ", repaired)
        fixes += extra
    return repaired, fixes


def _strip_inline_teasers(line: str) -> tuple[str, list[str]]:
    """Remove "Lire aussi : <title>." style teasers that sit inside a paragraph."""
    removed: list[str] = []
    pieces: list[str] = []
    position = 0
    for match in _INLINE_TEASER.finditer(line):
        if match.start() < position:
            continue
        after = line[match.end():]
        title = _TITLE_TO_TERMINATOR.match(after)
        end = match.end() + (title.end() if title else 0)
        pieces.append(line[position:match.start()])
        removed.append(line[match.start():end].strip())
        position = end
    if not removed:
        return line, removed
    pieces.append(line[position:])
    return _normalize_line(" ".join(pieces)), removed


def _boilerplate_reason(line: str) -> str | None:
    """Reason when a whole line is share/follow/newsletter/cookie/advertisement furniture."""
    n_words = len(line.split())
    plain = line.strip(" \t-–—|*•·:.!").casefold()
    if plain in _ADVERTISEMENT_LINES:
        return "advertisement"
    if plain in _COOKIE_BUTTONS:
        return "cookie"
    if n_words <= 80 and _COOKIE_WORD.search(line) and _COOKIE_CONTEXT.search(line):
        return "cookie"
    if n_words > 25:
        return None
    if _SHARE_LINE.match(line):
        return "share"
    if _FOLLOW_LINE.match(line):
        return "follow"
    if _NEWSLETTER_START.match(line) and not _BULLET.match(line):
        return "newsletter"
    if _NEWSLETTER_WORD.search(line) and _NEWSLETTER_ACTION.search(line):
        return "newsletter"
    return None


# --- the cleaner ----------------------------------------------------------------------------

class _Cleaner:
    """One pass over the paragraphs of one text; records every removal."""

    def __init__(self, link_texts: frozenset[str]):
        self.link_texts = link_texts
        self.removed: list[Removed] = []

    def drop(self, text: str, reason: str) -> None:
        self.removed.append(Removed(text=text, reason=reason))

    def is_link_line(self, line: str) -> bool:
        return bool(self.link_texts) and _line_key(line) in self.link_texts

    def strip_furniture(self, lines: list[str]) -> list[str]:
        """Drop boilerplate lines, then teaser lines and "read also" blocks."""
        content: list[str] = []
        for line in lines:
            reason = _boilerplate_reason(line)
            if reason:
                self.drop(line, reason)
            else:
                content.append(line)
        kept: list[str] = []
        index = 0
        while index < len(content):
            line = content[index]
            index += 1
            if _BUTTON_LINE.match(line):
                self.drop(line, "teaser")
                continue
            teaser = _TEASER_LINE.match(line)
            if teaser:
                rest = teaser.group("rest").strip()
                if not re.search(r"\w", rest):
                    self.drop(line, "teaser")
                    index = self.skip_teaser_block(content, index)
                    continue
                strong = bool(_STRONG_TEASER_RE.match(teaser.group("marker")))
                if strong or teaser.group("sep"):
                    if len(rest.split()) <= TEASER_TITLE_MAX_WORDS:
                        self.drop(line, "teaser")
                        continue
                    title = _TITLE_TO_TERMINATOR.match(rest)
                    if title:
                        self.drop(line[: teaser.start("rest") + title.end()].strip(), "teaser")
                        line = rest[title.end():].strip()
            line, inline = _strip_inline_teasers(line)
            for text in inline:
                self.drop(text, "teaser")
            if line:
                kept.append(line)
        return kept

    def skip_teaser_block(self, lines: list[str], index: int) -> int:
        """After a "read also" heading, drop the teaser headlines that follow it.

        One-line blurbs count as teasers only after a linked headline, or when the block runs
        to the end of the text (then nothing of the article follows).
        """
        rest = lines[index:]
        if len(rest) <= MAX_BLOCK_LINES and self.is_teaser_list(rest):
            for line in rest:
                self.drop(line, "teaser")
            return len(lines)
        start = index
        previous_was_link = False
        while index < len(lines) and index - start < MAX_BLOCK_LINES:
            line = lines[index]
            if self.is_link_line(line) or _is_headline(line):
                previous_was_link = self.is_link_line(line)
            elif previous_was_link and _is_blurb(line):
                previous_was_link = False
            else:
                break
            self.drop(line, "teaser")
            index += 1
        return index

    def is_teaser_list(self, lines: list[str]) -> bool:
        """True when every line is a headline/link, or a one-line blurb right after one."""
        previous_was_headline = False
        for line in lines:
            if self.is_link_line(line) or _is_headline(line):
                previous_was_headline = True
            elif previous_was_headline and _is_blurb(line):
                previous_was_headline = False
            else:
                return False
        return True

    def drop_duplicates(self, lines: list[str]) -> list[str]:
        """Keep the first copy of repeated prose paragraphs, and of repeated long sentences."""
        seen_lines: set[str] = set()
        seen_sentences: set[str] = set()
        kept: list[str] = []
        for line in lines:
            if _BULLET.match(line) or line.startswith("|"):  # list and table rows repeat legitimately
                kept.append(line)
                continue
            key = line.casefold()
            if key in seen_lines and len(line.split()) >= MIN_DUPLICATE_WORDS and line[-1] in _SENTENCE_END:
                self.drop(line, "duplicate_paragraph")
                continue
            seen_lines.add(key)
            if len(line) < FLAT_PARAGRAPH_CHARS:
                kept.append(line)
                continue
            sentences = _SENTENCE_SPLIT.split(line)
            unique: list[str] = []
            for sentence in sentences:
                sentence_key = sentence.casefold()
                if len(sentence) >= MIN_DUPLICATE_SENTENCE_CHARS and sentence_key in seen_sentences:
                    self.drop(sentence, "duplicate_sentence")
                    continue
                seen_sentences.add(sentence_key)
                unique.append(sentence)
            if unique:
                kept.append(line if len(unique) == len(sentences) else " ".join(unique))
        return kept

    def is_story_line(self, line: str) -> bool:
        """A line that may point to another story: a link of the page, or (plain text) a headline.

        With the page's links known, a headline that is not a link is article content (a list,
        a tour date); bulleted and table lines are lists either way.
        """
        if self.is_link_line(line):
            return True
        return not self.link_texts and not _BULLET.match(line) and not line.startswith("|") and _is_headline(line)

    def trailing_run_start(self, lines: list[str], allow_blurbs: bool) -> int:
        """Index where the trailing run of headline/link lines starts (len(lines) when there is none)."""
        start = len(lines)
        index = len(lines) - 1
        while index > 0 and len(lines) - index <= MAX_BLOCK_LINES:
            line = lines[index]
            if _REFERENCES_HEADING.match(lines[index - 1]) or _REFERENCE_LIKE.search(line):
                break
            if self.is_story_line(line):
                start = index
                index -= 1
            elif (
                _is_blurb(line)
                and (allow_blurbs or self.is_link_line(lines[index - 1]))
                and index - 1 > 0
                and self.is_story_line(lines[index - 1])
            ):
                start = index - 1
                index -= 2
            else:
                break
        if start < len(lines) and lines[start - 1].rstrip().endswith(":"):
            return len(lines)  # a list the article introduces ("Symptoms include:")
        if any(_REFERENCES_HEADING.match(line) for line in lines[:start]):
            references_at = max(i for i, line in enumerate(lines[:start]) if _REFERENCES_HEADING.match(line))
            if references_at >= start - MAX_BLOCK_LINES:
                return len(lines)
        return start

    def drop_trailing_links(self, lines: list[str], title: str | None, similarity, threshold: float) -> list[str]:
        """Drop the run of other stories' headlines (and their blurbs) after the article.

        Two or more of the page's own links decide alone. Otherwise, with ``similarity`` the run goes
        when its embedding is far from the article's (cosine < ``threshold``); without it, when it
        holds two or more headline-shaped lines. References, contacts and introduced lists stay.
        """
        start = self.trailing_run_start(lines, allow_blurbs=similarity is not None)
        run = lines[start:]
        if not run:
            return lines
        link_lines = sum(self.is_link_line(line) for line in run)
        headline_lines = sum(self.is_story_line(line) for line in run)
        if link_lines >= MIN_TRAILING_RUN:
            unrelated = True
        elif similarity is not None:
            body = "\n".join(([title] if title else []) + lines[:start])[:3000]
            embeddings = similarity([body, "\n".join(run)])
            unrelated = float(np.dot(embeddings[0], embeddings[1])) < threshold
        else:
            unrelated = headline_lines >= MIN_TRAILING_RUN
        if not unrelated:
            return lines
        for line in run:
            self.drop(line, "trailing_links")
        return lines[:start]


def _count(removed: list[Removed], *reasons: str) -> float:
    return float(sum(1 for item in removed if item.reason in reasons))


def text_stats(text: str, paragraphs: list[str], removed: list[Removed], *, original_chars: int,
               mojibake_fixed: int, link_chars: int) -> dict[str, float]:
    """Numeric, language-neutral features of the clean text and of what was removed."""
    n_letters = sum(map(str.isalpha, text))
    n_chars = len(text)
    n_paragraphs = len(paragraphs)
    return {
        "n_chars": float(n_chars),
        "n_words": float(len(text.split())),
        "n_paragraphs": float(n_paragraphs),
        "mean_paragraph_chars": n_chars / n_paragraphs if n_paragraphs else 0.0,
        "short_paragraph_ratio": (
            sum(len(p.split()) < SHORT_PARAGRAPH_WORDS for p in paragraphs) / n_paragraphs if n_paragraphs else 0.0
        ),
        "digit_ratio": sum(map(str.isdigit, text)) / n_chars if n_chars else 0.0,
        "uppercase_ratio": sum(map(str.isupper, text)) / n_letters if n_letters else 0.0,
        "n_urls": float(len(_URL.findall(text))),
        "teasers_removed": _count(removed, "teaser"),
        "trailing_links_removed": _count(removed, "trailing_links"),
        "share_lines_removed": _count(removed, "share", "follow"),
        "cookie_lines_removed": _count(removed, "cookie"),
        "newsletter_lines_removed": _count(removed, "newsletter"),
        "ads_removed": _count(removed, "advertisement"),
        "duplicates_removed": _count(removed, "duplicate_paragraph", "duplicate_sentence"),
        "mojibake_fixed": float(mojibake_fixed),
        "link_density": link_chars / original_chars if original_chars else 0.0,
        "removed_chars_ratio": sum(len(item.text) for item in removed) / original_chars if original_chars else 0.0,
    }


def clean_text(
    text: str,
    *,
    input: str = "",
    title: str | None = None,
    similarity: Similarity | None = None,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    link_texts: Iterable[str] = (),
) -> CleanResult:
    """Clean already-extracted text; ``link_texts`` are anchor texts of the source HTML, if any.

    ``similarity`` (texts -> L2-normalised embeddings) lets meaning decide whether a trailing
    block of headline-like lines is unrelated to the article (cosine below ``similarity_threshold``).
    """
    repaired, mojibake_fixed = repair_mojibake(text)
    lines = [line for line in (_normalize_line(raw) for raw in repaired.splitlines()) if line]
    cleaner = _Cleaner(frozenset(_line_key(_normalize_line(t)) for t in link_texts))
    link_chars = sum(len(line) for line in lines if cleaner.is_link_line(line))
    lines = cleaner.strip_furniture(lines)
    lines = cleaner.drop_duplicates(lines)
    lines = cleaner.drop_trailing_links(lines, title, similarity, similarity_threshold)
    clean = "\n".join(lines)
    stats = text_stats(
        clean, lines, cleaner.removed,
        original_chars=len(text), mojibake_fixed=mojibake_fixed, link_chars=link_chars,
    )
    return CleanResult(
        input=input, title=title, language=detect_language(clean), text=clean, removed=cleaner.removed, stats=stats,
    )


def anchor_texts(tree) -> set[str]:
    """Texts of the page's links (whole anchors and their text pieces), for spotting link-only lines."""
    texts: set[str] = set()
    for anchor in tree.iter("a"):
        pieces = [_normalize_line(piece) for piece in anchor.itertext()]
        whole = _normalize_line(" ".join(pieces))
        for candidate in [whole, *pieces]:
            if len(candidate) >= 12 and " " in candidate:
                texts.add(candidate)
    return texts


def clean_html(html: str, *, url: str | None = None, input: str = "", similarity: Similarity | None = None) -> CleanResult:
    """Extract the main text with trafilatura, then clean it with :func:`clean_text`."""
    import trafilatura
    from trafilatura.metadata import extract_title
    from trafilatura.utils import load_html

    label = input or url or "the page"
    tree = load_html(html)
    document = None
    if tree is not None:
        # bare_extraction works on a copy of the tree; only the title is needed from the metadata,
        # and full metadata extraction (dates, authors) would cost as much again as the cleaning.
        document = trafilatura.bare_extraction(tree, url=url, **TRAFILATURA_OPTIONS)
    if document is None or not (document.text or "").strip():
        raise InputError(f"no main text could be extracted from {label}")
    result = clean_text(
        document.text, input=input, title=extract_title(tree), similarity=similarity, link_texts=anchor_texts(tree),
    )
    if len(result.text.split()) < MIN_MAIN_TEXT_WORDS:
        raise InputError(f"no main text could be extracted from {label}")
    return result


def clean_page(page: Page, *, similarity: Similarity | None = None) -> CleanResult:
    """Clean a page read by :func:`pipeline.fetch.read_input` (HTML or plain text)."""
    if page.html is not None:
        return clean_html(page.html, url=page.url, input=page.input, similarity=similarity)
    result = clean_text(page.text or "", input=page.input, similarity=similarity)
    if not result.text.strip():
        raise InputError(f"no text left in {page.input} after cleaning")
    return result
