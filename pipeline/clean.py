"""Turn a page into clean article text: trafilatura extraction plus a text-level cleaner.

The text cleaner (:func:`clean_text`) removes, line by line and block by block:

* page furniture: share/follow/newsletter/cookie/advertisement/copyright lines, "read more" buttons;
* teasers for other articles inside the text: "<label> : <title>" lines whose label is a "read also"
  phrase in any of a dozen languages, matched without accents or case and with small typos
  ("A lire ausi :"), or whose title is topically far from the paragraphs around it; "read also"
  headings with the headlines under them;
* the trailing block of other stories after the article: items made of a short headline, optional
  date or category lines and a snippet, decided by structure (a related-articles heading, link markup, snippets
  cut with an ellipsis, date lines) and by topical distance of each item from the article's opening;
* repeated paragraphs, and double-encoded UTF-8 ("Ã©" -> "é").

Meaning (topical distance) comes from a sentence encoder, by default pagetag's built-in static
USE (:class:`pipeline.embed.StaticUSE`), loaded on first need: most texts are decided by structure
alone and never embed anything. Every removal is reported as a :class:`Removed` with its reason and
the signals that decided it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from pipeline.errors import InputError
from pipeline.fetch import Page
from pipeline.lang import detect_language
from pipeline.page_features import page_evidence

Similarity = Callable[[Sequence[str]], Any]
"""texts -> L2-normalised embedding matrix (one row per text), e.g. a sentence encoder."""

BUILTIN = "builtin"
"""``similarity=BUILTIN`` (the default): pagetag's static USE embedder, loaded only when needed."""

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
"""Cosine similarity to the article's opening below which a trailing headline is another story."""
TEASER_SIMILARITY = 0.15
"""A one-line "<label>: <title>" or linked title that shares no word with the article and stays below
this similarity to its opening and to both neighbouring paragraphs is a teaser for another article."""
FAR_SIMILARITY = 0.15
"""A headline with a plain snippet under it (no other sign) goes only below this, sharing no article word."""
SUBHEADING_SIMILARITY = 0.4
"""A headline at least this similar to the paragraph after it introduces that paragraph."""
MIN_TRAILING_RUN = 2
"""A trailing list without a related heading must have at least this many items."""
MIN_ARTICLE_WORDS = 25
"""A trailing list is removed only when at least this many words of article remain before it."""
MAX_BLOCK_LINES = 40
TEASER_TITLE_MAX_WORDS = 25
LABEL_MAX_WORDS = 6
SNIPPET_MAX_WORDS = 60
SHORT_PARAGRAPH_WORDS = 8
MIN_MAIN_TEXT_WORDS = 5
"""Fewer words extracted from a page means only menus or buttons were found."""
_UNSPACED_CHAR = re.compile(r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
                            r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
"""Letters of scripts written without spaces between words (Thai, Lao, Burmese, Khmer, kana, CJK, Hangul)."""
UNSPACED_CHARS_PER_WORD = 2
MIN_DUPLICATE_WORDS = 25
MIN_DUPLICATE_SENTENCE_CHARS = 100
FLAT_PARAGRAPH_CHARS = 1000
"""A paragraph this long is likely a whole text without line breaks: repeated sentences in it are dropped."""
LANGUAGE_SAMPLE_CHARS = 2000
"""Characters of clean text the language is identified on: on 4,000 corpus texts the language found on
2,000 characters equals the one found on 5,000 for 99.95% of them, in two thirds of the time."""
OPENING_CHARS = 800
"""Characters of title + first paragraphs that stand for the article's topic."""
RECALL_FALLBACK_CHARS = 300
RECALL_FALLBACK_RATIO = 3.0
"""When precision-oriented extraction keeps under RECALL_FALLBACK_CHARS characters, the page is
re-extracted with trafilatura's balanced settings, kept if RECALL_FALLBACK_RATIO times longer."""

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
    """A piece of text the cleaner removed, why (``reason``), and the evidence that decided it (``signals``).

    ``signals`` is explanation only: two removals of the same text for the same reason compare equal.
    """

    text: str
    reason: str
    signals: list[str] = field(default_factory=list, compare=False)


@dataclass
class CleanResult:
    """Clean article text with its metadata, removals and numeric features (``stats``)."""

    input: str
    title: str | None
    language: str
    text: str
    removed: list[Removed] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    page: dict[str, float] | None = None
    """Page-evidence features of the HTML (:func:`pipeline.page_features.page_evidence`); None for plain text."""


# --- phrases (one signal among several; compared without accents and case, typos tolerated) ------

_COMBINING_MARKS = re.compile("[\u0300-\u036f]+")


def fold(text: str) -> str:
    """Lower case without accents or typographic quotes: "À LIRE Aussi" -> "a lire aussi"."""
    if text.isascii():
        return text.lower()
    return _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold().replace("’", "'").replace("‘", "'")


_fold_line = functools.lru_cache(maxsize=16384)(fold)
"""``fold`` for lines, which every step of the cleaner looks at again."""


# "Read this other story" phrases. Strong ones may be followed by a title without any separator.
_STRONG_LABELS = [
    "sujet a lire", "avez-vous vu cela", "a lire aussi", "a lire egalement", "a lire", "lire aussi", "lire egalement",
    "a lire en complement", "lire en complement", "complement d'article", "a decouvrir aussi", "a decouvrir egalement",
    "decouvrez aussi", "decouvrez egalement", "a voir aussi", "a voir egalement", "voir aussi",
    "ceci pourrait vous interesser", "cela pourrait vous interesser", "ca pourrait vous interesser",
    "cela peut vous interesser", "ceci peut vous interesser", "vous aimerez aussi", "vous aimerez aussi lire",
    "vous pourriez aimer", "vous pourriez aussi aimer", "cela pourrait vous plaire", "a ne pas manquer",
    "a ne pas rater", "sur le meme sujet", "sur le meme theme", "dans la meme rubrique", "articles similaires",
    "articles lies", "article lie", "articles connexes", "article connexe", "autres articles", "notre selection",
    "nos suggestions", "notre dossier", "nos dossiers", "lecture recommandee", "lectures recommandees",
    "pour aller plus loin", "article populaire", "articles populaires",
    "lesen sie auch", "lesen sie ausserdem", "lesen sie mehr", "lesen sie dazu", "das konnte sie auch interessieren",
    "das konnte sie interessieren", "auch interessant", "ebenfalls interessant", "passend zum thema",
    "weitere artikel", "weitere beitrage", "zum weiterlesen", "lesetipp", "lesetipps", "mehr zum thema", "auch lesenswert",
    "ebenfalls lesenswert", "empfehlung der redaktion", "unsere empfehlung", "tipp der redaktion", "unser spezial",
    "verwandte artikel", "ahnliche artikel", "nicht verpassen", "more from",
    "read also", "also read", "you may also like", "you might also like", "recommended for you", "recommended reading",
    "related articles", "related stories", "related posts", "related news", "related reading", "related content",
    "more stories", "editor's pick", "editors' picks", "editor's picks", "our picks", "don't miss", "check out",
    "must read", "see more", "a lire absolument", "voir plus", "unbedingt lesen", "ver mas", "lectura recomendada",
    "imperdible", "da leggere", "guarda anche",
    "ver tambien", "vease tambien", "lee tambien", "lea tambien", "te puede interesar", "tambien te puede interesar",
    "le puede interesar", "puede interesarte", "quiza te interese", "quizas te interese", "te puede gustar",
    "articulos relacionados", "noticias relacionadas", "nuestra seleccion", "no te pierdas", "lea aqui", "lee aqui",
    "leggi anche", "potrebbe interessarti", "potrebbe interessarti anche", "ti potrebbe interessare",
    "articoli correlati", "vedi anche", "la nostra selezione", "da non perdere", "ti potrebbe piacere",
    "leia tambem", "veja tambem", "lees ook",
]
# Ambiguous words ("Related diseases include ...") count only with a separator or alone on a line.
_WEAK_LABELS = [
    "related", "see also", "siehe auch", "more on this", "recommended", "trending", "don't miss",
    "a decouvrir", "a voir", "mas informacion", "leer mas", "read more", "saiba mais", "lesen sie hier", "mehr dazu",
    "weiterlesen", "en savoir plus", "lire la suite", "continue reading", "learn more", "more",
    "les plus lus", "les plus populaires", "nos derniers articles", "derniers articles", "dernieres actualites",
    "articles recents", "vous aimerez aussi", "a la une", "meistgelesen", "meistgelesene artikel", "neueste beitrage",
    "neueste artikel", "aktuelle beitrage", "most read", "most popular", "latest news", "latest articles",
    "recent posts", "top stories", "lo mas leido", "mas leidas", "mas leido", "ultimas noticias", "entradas recientes",
    "i piu letti", "piu letti", "ultime notizie", "articoli recenti",
]
# Real section labels: "Conclusion : ..." introduces the article's own text.
_SECTION_LABELS = {
    "conclusion", "conclusions", "en conclusion", "resultats", "resultat", "methodes", "methode", "contexte",
    "en bref", "a retenir", "en resume", "resume", "definition", "symptomes", "traitement", "traitements",
    "causes", "prevention", "diagnostic", "fazit", "ergebnis", "ergebnisse", "methoden", "hintergrund",
    "zusammenfassung", "kurz gesagt", "definition", "symptome", "behandlung", "ursachen", "diagnose",
    "conclusion", "results", "methods", "background", "summary", "the bottom line", "bottom line", "key points",
    "in short", "symptoms", "treatment", "causes", "diagnosis", "objective", "objectives",
    "conclusion", "conclusiones", "resultados", "metodos", "resumen", "en resumen", "antecedentes", "sintomas",
    "tratamiento", "causas", "diagnostico", "conclusioni", "risultati", "metodi", "riassunto", "in breve",
    "sintomi", "trattamento", "cause", "diagnosi", "premessa", "tipps", "tipp", "tips", "conseils", "conseil",
    "consejos", "consigli", "hinweis", "note", "remarque", "nota", "info", "infos",
}
_BUTTONS = [
    "read more", "continue reading", "learn more", "lire la suite", "en savoir plus", "weiterlesen",
    "mehr lesen", "mehr erfahren", "leer mas", "seguir leyendo", "continua a leggere", "leggi di piu",
    "leia mais", "click here", "cliquez ici", "hier klicken",
]
_STRONG_SET = frozenset(_STRONG_LABELS)
# Words that make a short "<label>: <title>" line a pointer to another article ("Notre sélection santé : ...").
_TEASER_WORDS = frozenset("""
lire lisez relire lecture lectures decouvrir decouvrez interesser interessera interessant recommande recommandes
recommandation recommandations suggestion suggestions populaire populaires tendance tendances connexe connexes
article articles aimerez plaire plaira manquer rater consulter approfondir
lesen lies lesenswert lesetipp lesetipps weiterlesen interessieren interessant interessiert empfehlung empfehlungen
empfohlen artikel beitrag beitrage entdecken verpassen beliebt beliebteste meistgelesen
read reading related recommended recommendation recommendations popular trending articles stories posts discover
lee lea leer ver vea vease interesar interesarte interesa interese relacionado relacionados relacionada relacionadas
recomendado recomendados recomendamos articulo articulos noticia noticias popular populares descubre descubrir
lectura recomendada recomendadas imperdible
leggi leggere lettura vedi guarda interessare interessarti interessante correlato correlati correlata correlate
consigliato consigliati articolo articoli notizia notizie popolare popolari scopri piacere
""".split())
# The same in other words: "... könnte dich auch interessieren", "sur le même thème", "verwandte Artikel".
_KEYWORD_LABEL = re.compile(
    r"\b(?:interessieren|interessant|interesser|interesar|interesarte|interessare|interessarti|interessera|"
    r"interest you)\b(?=.*\b(?:auch|aussi|also|tambien|anche|konnte|pourrait|podria|puede|potrebbe|might|may)\b)"
    r"|\b(?:auch|aussi|also|tambien|anche|konnte|pourrait|podria|puede|potrebbe|might|may)\b.*\b(?:interessieren|"
    r"interessant|interesser|interesar|interesarte|interessare|interessarti|interessera|interest you)\b"
    r"|\b(?:lire|lisez|lesen|lies|leggi|leggete|lee|lea|read)\b.*\b(?:aussi|egalement|auch|ausserdem|anche|tambien|also)\b"
    r"|\b(?:meme|selben|gleichen|same|mismo|misma|stesso|stessa)\s+(?:sujet|theme|thema|topic|subject|tema|argomento)\b"
    r"|\b(?:verwandte|ahnliche|relacionad[oa]s|correlat[ie]|similaires|connexes|related)\s+"
    r"(?:artikel|beitrage|themen|articulos|noticias|articoli|notizie|articles|sujets|stories|posts|content)\b"
    r"|^(?:more|other|plus|autres|d'autres|mehr|weitere|andere|mas|otras|otros|altre|altri)\s+(?:d')?"
    r"(?:news|stories|articles|posts|actualites|actus|infos|meldungen|nachrichten|artikel|beitrage|noticias|"
    r"articulos|notizie|articoli)\b"
    r"|^(?:more in|more on|mehr aus|mehr zu|aus dem ressort|altro da|altre da|dalla stessa)\b(?!.*\d)"
)
_STRONG_PREFIX = re.compile("(" + "|".join(sorted(map(re.escape, _STRONG_LABELS), key=len, reverse=True)) + ") ")
_LABELS_BY_WORDS: dict[int, set[str]] = {}
_FUZZY_LABELS: dict[tuple[int, str], list[str]] = {}  # typos are looked for among phrases of the same first letter
for _phrase in dict.fromkeys(_STRONG_LABELS + _WEAK_LABELS):
    _LABELS_BY_WORDS.setdefault(len(_phrase.split()), set()).add(_phrase)
    if len(_phrase) >= 6:
        _FUZZY_LABELS.setdefault((len(_phrase.split()), _phrase[0]), []).append(_phrase)
_FUZZY_TEASER_WORDS: dict[str, list[str]] = {}
for _word in _TEASER_WORDS:
    _FUZZY_TEASER_WORDS.setdefault(_word[:2], []).append(_word)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (substitutions, insertions, deletions, swaps), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


@functools.lru_cache(maxsize=4096)
def match_label(label: str) -> tuple[str, bool] | None:
    """The "read also" phrase that folded ``label`` is (or, for unambiguous phrases, starts with),
    exactly or with a small typo, and whether the typo tolerance was needed; None otherwise."""
    words = label.split()
    if not words or len(words) > LABEL_MAX_WORDS:
        return None
    if label in _LABELS_BY_WORDS.get(len(words), ()):
        return label, False
    for size in range(len(words) - 1, 0, -1):
        head = " ".join(words[:size])
        if head in _STRONG_SET:
            return head, False
    limit = 2 if len(label) >= 9 else 1 if len(label) >= 5 else 0
    for phrase in _FUZZY_LABELS.get((len(words), label[0]), ()) if limit else ():
        if abs(len(phrase) - len(label)) <= limit and _edit_distance(label, phrase, limit) <= limit:
            return phrase, True
    return None


# --- line patterns ----------------------------------------------------------------------------

_LABEL_LINE = re.compile(
    r"^(?:[^\w¿¡\[(]{0,3}[\[(](?P<bracketed>[^\])]{1,40})[\])]\s*(?P<sep_b>[:>»|–—-]*)"
    r"|[^\w¿¡]{0,3}(?P<label>[^:>»|–—\[(]{1,60}?)\s*(?P<sep>:|>>?|»|\||–|—|\s-(?=\s)|\.\.\.|…))\s*(?P<title>.*)$"
)
_TITLE_TO_TERMINATOR = re.compile(r"^(?:\S+\s+){0,%d}?\S*?[.!?…](?=\s|$)" % (TEASER_TITLE_MAX_WORDS - 1))
_BUTTON_LINE = re.compile(r"^[^\w]{0,3}" + "(?:" + "|".join(_BUTTONS) + r")\s*[.…>»:]*\W{0,3}$")
_ACCENTS = {"a": "aàâáäã", "e": "eéèêë", "i": "iíîï", "o": "oóôöõ", "u": "uúùûü", "c": "cç", "n": "nñ", "'": "'’"}


def _accent_pattern(phrase: str) -> str:
    """Regex for a folded phrase that also matches its accented spellings ("a lire" ~ "à lire")."""
    pattern = phrase.replace("ss", "\0")
    return "".join(
        r"\s+" if ch == " " else "(?:ss|ß)" if ch == "\0" else f"[{_ACCENTS[ch]}]" if ch in _ACCENTS else re.escape(ch)
        for ch in pattern
    )


_SENTENCE_GAP = re.compile(r"[.!?…»\"”)]\s+")
# A "read also" phrase where a sentence starts; over a folded line (plain ASCII phrases, fast) when folding kept
# every position, else accent-tolerant over the line itself.
_INLINE_TEASER_FOLDED = re.compile(
    "(?:" + "|".join(sorted((p.replace(" ", r"\s+") for p in _STRONG_LABELS if len(p.split()) > 1), key=len, reverse=True))
    + r")(?!\w)\s*(?:[:>»|–—-]+\s*)?"
)
_INLINE_TEASER = re.compile(
    "(?:" + "|".join(sorted((_accent_pattern(p) for p in _STRONG_LABELS if len(p.split()) > 1), key=len, reverse=True))
    + r")(?!\w)\s*(?:[:>»|–—-]+\s*)?",
    re.IGNORECASE,
)
_ELLIPSIS_END = re.compile(
    r"(?:\.\.\.|…|\[\s*(?:\.\.\.|…)\s*\]|\(\s*(?:\.\.\.|…)\s*\))[\s\"'»”)\]]*(?:"
    + "|".join(_BUTTONS) + r"|mehr|more|plus|suite)?\W{0,3}$"
)

_MONTHS = (
    "(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "januar|jaenner|februar|marz|maerz|april|juni|juli|august|oktober|dezember|"
    "january|february|march|may|june|july|october|december|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|okt|nov|dec|dez)\.?"
)
_META_LINE = re.compile(
    r"^\W{0,3}(?:(?:le|am|on|el|il|publie le|publie|mis a jour le|veroffentlicht am|aktualisiert am|published|"
    r"updated|publicado el|publicado|pubblicato il|pubblicato)\s+)?"
    r"(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}(?:er)?\.?\s+(?:de\s+)?" + _MONTHS + r"(?:\s+(?:de\s+)?\d{4})?"
    r"|" + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?,?(?:\s+\d{4})?)"
    r"(?:\s*(?:[,|–-]|a|um|at|alle|a las)?\s*\d{1,2}[:h.]\d{2}(?:\s*(?:uhr|h|am|pm))?)?\W{0,3}$"
    r"|^\W{0,3}(?:lesezeit:?\s*)?\d{1,2}\s*(?:min|minutes?|minuten|minutos|minuti)\.?"
    r"(?:\s+(?:de lecture|read|reading|lesezeit|de lectura|di lettura))?\W{0,3}$"
)

_SOCIAL = "(?:" + "|".join([
    "facebook", "twitter", "x", "whatsapp", "linkedin", "pinterest", "reddit", "telegram", "messenger", "xing",
    "e-?mail", "mail", "print", "imprimer", "drucken", "stampa", "imprimir", "copy link", "copier le lien",
    "link kopieren", "tweet", "tweeten", "pin it", "flipboard", "bluesky", "threads", "instagram", "youtube",
    "tiktok", "sms", "share", "partager", "teilen",
]) + ")"
# One network name and what separates it from the next; the alternatives never overlap (no backtracking blow-up).
_SOCIAL_ITEM = "(?:" + _SOCIAL + r"(?:\s*[|·•,/-]\s*|\s+|$))"
_SHARE_LINE = re.compile(
    r"^\W{0,3}(?:share|partager|partagez|teilen|compartir|condividi|compartilhe|delen|email this|print this|"
    r"(?:diesen |den )?(?:artikel|beitrag) teilen|jetzt teilen)"
    r"(?:\s+(?:this|cet|ce|cette|diesen|den|este|esta|questo|l'|la|le|the)?\s*"
    r"(?:article|artikel|story|post|page|beitrag|articulo|articolo|pagina|seite|publication))?"
    r"(?:\s+(?:on|sur|auf|en|su|via|with|par))?\s*[:|]?\s*" + _SOCIAL_ITEM + r"*\W{0,3}$"
    r"|^\W{0,3}" + _SOCIAL_ITEM + r"{2,}\W{0,3}$"
    r"|^\W{0,3}(?:print|imprimer|drucken|stampa|imprimir)\s*[|·•/]\s*(?:envoyer|send|senden|per|invia|enviar|e-?mail)"
    r"[\w\s.-]{0,30}$",
)
# "Partagez cet article sur les réseaux sociaux", "Share this post with your friends"
_SHARE_IN_WORDS = re.compile(
    r"^\W{0,3}(?:share|partage[rz]?|teile[n]?|comparte|compartir|compartelo|condividi|condividere|deel)\b"
    r"(?=.*\b(?:article|post|page|story|artikel|beitrag|articulo|articolo|publication|reseaux|social|sozialen|redes|"
    r"amici|friends|amis|freunden|amigos)\b)[^.!?]*$"
)
_FOLLOW_LINE = re.compile(
    r"^\W{0,3}(?:follow us|suivez[- ]nous|folgen sie uns|folge uns|siguenos|seguici|siga-nos|volg ons|"
    r"retrouvez-nous|find us on|like us on)\b",
)
_NEWSLETTER_START = re.compile(
    r"^\W{0,3}(?:sign up|subscribe|abonnez-vous|inscrivez-vous|abonnieren sie|jetzt abonnieren|suscribete|suscribase|"
    r"iscriviti|inscreva-se)\b"
)
# Verbs of ordinary prose too ("Melden Sie sich bei Ihrem Arzt"): newsletter only with a mailbox in the line.
_MAIL_OFFER = re.compile(
    r"^\W{0,3}(?:get our|receive our|recevez|recibe|ricevi|erhalten sie|bekommen sie|melden sie sich|jetzt anmelden)\b"
    r"(?=.*(?:e-?mail|inbox|boite (?:mail|de reception)|postfach|correo|posta|newsletter))"
)
_NEWSLETTER_WORD = re.compile(r"newsletter|infolettre|lettre d'information|boletin|bollettino")
_NEWSLETTER_ACTION = re.compile(
    r"sign[- ]?up|subscri|abonn|inscri|anmeld|abonnier|suscr|iscriv|e-?mail|inbox|gratuit|free|kostenlos|gratis"
)
_COOKIE_CONTEXT = re.compile(
    r"accept|akzept|acepta|acepto|accett|consent|zustimm|einverstanden|utilis|we use|wir verwenden|nous utilisons|"
    r"usamos|utilizamos|utilizziamo|uses|verwendet|privacy|datenschutz|confidentialite|parametres|einstellungen|"
    r"settings|preferences|preferencias|preferenze"
)
_COPYRIGHT_LINE = re.compile(
    r"^\W{0,3}(?:©|copyright\b)|\b(?:all rights reserved|tous droits reserves|alle rechte vorbehalten|"
    r"todos los derechos reservados|tutti i diritti riservati)\b"
)
_COOKIE_BUTTONS = {
    "accept", "accept all", "accept cookies", "reject all", "manage preferences", "manage cookies",
    "tout accepter", "accepter", "refuser", "tout refuser", "alle akzeptieren", "akzeptieren", "ablehnen",
    "alle ablehnen", "aceptar", "aceptar todo", "rechazar", "accetta", "accetta tutto", "rifiuta",
}
_ADVERTISEMENT_LINES = {
    "advertisement", "advertisements", "advertising", "ad", "ads", "sponsored", "sponsored content", "paid content",
    "publicite", "pub", "annonce", "contenu sponsorise", "anzeige", "werbung", "gesponsert",
    "publicidad", "pubblicita", "patrocinado", "continue reading below", "story continues below",
    "article continues below", "article continues below advertisement", "continue reading the main story",
    "scroll to continue with content", "la suite apres cette publicite", "la suite apres la publicite",
    "weiter nach der anzeige", "weiterlesen nach der anzeige", "artikel wird nach der anzeige fortgesetzt",
    "advertisement - scroll to continue", "supported by", "- advertisement -",
}
_REFERENCES_HEADING = re.compile(
    r"^\W{0,3}(?:references?|bibliography|sources?|literature|further reading|bibliographie|"
    r"literatur|quellen|quellenangaben|einzelnachweise|referencias|bibliografia|fuentes|riferimenti)"
    r"\W{0,3}$",
)
_CITATION_PATTERN = r"\bet al\b|\bdoi\b|\bpmid\b|https?://|\(\s*(?:19|20)\d\d\s*\)|\b\d+\s*\(\d+\)\s*:\s*\d+"
_CITATION = re.compile(_CITATION_PATTERN, re.IGNORECASE)
_REFERENCE_LIKE = re.compile(_CITATION_PATTERN + r"|\b(?:19|20)\d\d\b[;:.,)]", re.IGNORECASE)
"""A reference-list line: a citation, or a year followed by punctuation ("Smith J (2020)." / "2019;12:34")."""
_CATEGORY_LINE = re.compile(r"^[^\W\d_a-zà-ÿ][^\W\d_]{2,24}$")
_CONTACT_OR_NUMBER = re.compile(r"@|\d[\d ()./-]{6,}\d")
_BULLET = re.compile(r"^(?:[-•*·▪►>»]|\d{1,2}[.)])\s+")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[\"«“(]?[A-ZÀ-ÖØ-Þ0-9])")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_LONG_WORD = re.compile(r"[^\W\d_]{5,}")
# Frequent words of five letters or more that say nothing about a topic (folded: no accents).
_FUNCTION_WORDS = frozenset("""
about after again against among because before being below between could during every first found other
their there these those three through under until where which while would should without years people
aussi autre autres avant avoir cette comme comment depuis encore entre etait etre leurs mieux moins notre
nouveau nouvelle nouvelles peuvent plusieurs pourquoi quand quelle quelles quels selon toujours toutes votre
alles allen andere anderen beiden damit dafur dann dass diese diesem diesen dieser eines einem einen einer
etwas gegen haben heute hatte immer jetzt keine konnen kann mehr neben nicht noch oder schon seine sehr
sich sind sollte sollten sowie uber unter viele vielen warum weil welche welchem welchen welcher welches wenn
werden wieder wird wurde zwischen
ahora antes cada como cual cuales cuando cuanto cuanta desde donde quien quienes durante entre esta este estos
hacer hasta mejor menos mismo muchos
nuestra nuevo otros para pero porque puede pueden segun sobre tambien tiene tienen todos
ancora anche avere come cosa della delle dello degli dopo essere fare hanno molto nella nelle nuovo ogni
perche piu prima quale quando quello questa questo sono sulla tutti tutto
""".split())
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


@functools.lru_cache(maxsize=16384)
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


def _content_stems(text: str) -> set[str]:
    """Five-letter stems of the longer, non-function words of ``text`` (a crude, language-neutral topic signature)."""
    return {word[:5] for word in _LONG_WORD.findall(fold(text)) if word not in _FUNCTION_WORDS}


@functools.lru_cache(maxsize=16384)
def _ends_with_ellipsis(line: str) -> bool:
    return bool(_ELLIPSIS_END.search(fold(line[-40:])))


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


def _furniture_reason(line: str, folded: str) -> str | None:
    """Reason when a whole line is share/follow/newsletter/cookie/advertisement furniture."""
    n_words = len(line.split())
    plain = folded.strip(" \t-–—|*•·:.!")
    if plain in _ADVERTISEMENT_LINES:
        return "advertisement"
    if plain in _COOKIE_BUTTONS:
        return "cookie"
    if n_words <= 80 and "cookie" in folded and _COOKIE_CONTEXT.search(folded):
        return "cookie"
    if n_words > 25:
        return None
    if n_words <= 15 and _COPYRIGHT_LINE.search(folded):
        return "copyright"
    if _SHARE_LINE.match(folded) or (n_words <= 12 and _SHARE_IN_WORDS.match(folded)):
        return "share"
    if _FOLLOW_LINE.match(folded):
        return "follow"
    if not _BULLET.match(line) and (
            _NEWSLETTER_START.match(folded) and (_NEWSLETTER_WORD.search(folded) or n_words <= 12)
            or _MAIL_OFFER.match(folded)):
        return "newsletter"
    if _NEWSLETTER_WORD.search(folded) and _NEWSLETTER_ACTION.search(folded):
        return "newsletter"
    return None


@dataclass
class _Teaser:
    """A line that starts with a "read also" label: the phrase, the title after it, how it matched."""

    phrase: str
    title: str
    title_start: int
    fuzzy: bool
    separator: bool


@functools.lru_cache(maxsize=8192)
def _split_label(line: str) -> tuple[str, str, int, str] | None:
    """(label, separator, title start, title) of a "<label>: <title>" or "[LABEL] title" line."""
    split = _LABEL_LINE.match(line)
    if not split:
        return None
    if split.group("bracketed") is not None:
        return split.group("bracketed"), split.group("sep_b") or "]", split.start("title"), split.group("title")
    return split.group("label"), split.group("sep"), split.start("title"), split.group("title")


def _label_phrase(label: str, titled: bool = False) -> tuple[str, bool] | None:
    """A known "read also" phrase (see :func:`match_label`), or a label in other words that says the
    same ("Das Thema könnte dich auch interessieren", "Sur le même thème"); with ``titled`` (a title
    follows), also a short label with one teaser word in it ("Nos articles santé", "Lesenswert")."""
    found = match_label(label)
    if found or len(label.split()) > LABEL_MAX_WORDS + 1:
        return found
    keyword = _KEYWORD_LABEL.search(label)
    if keyword:
        return keyword.group(0), False
    words = label.split()
    if titled and len(words) <= 4 and not re.search(r"\d", label):
        for word in words:
            if word in _TEASER_WORDS:
                return word, False
            if len(word) >= 6:
                close = [teaser for teaser in _FUZZY_TEASER_WORDS.get(word[:2], ())
                         if _edit_distance(word, teaser, 1) <= 1]
                if close:
                    return close[0], True
    return None


@functools.lru_cache(maxsize=8192)
def _labelled_line(line: str) -> _Teaser | None:
    """The "read also" label a line starts with, if any (the label alone makes a heading)."""
    if line.startswith("|"):
        return None  # a table row
    split = _split_label(line)
    if split and len(split[0].split()) <= LABEL_MAX_WORDS + 1:
        label, _, title_start, title = split
        title = title.strip()
        found = _label_phrase(fold(label).strip(), titled=_is_headline(title) and len(title.split()) >= 3)
        if found:
            return _Teaser(found[0], title, title_start, found[1], True)
    folded = _fold_line(line)
    strong = _STRONG_PREFIX.match(folded)
    if strong:  # "Lire aussi Le jeûne intermittent ..." (no separator)
        phrase = strong.group(1)
        if len(line) > len(phrase) + 1 and line[len(phrase) + 1].isupper():
            return _Teaser(phrase, line[len(phrase) + 1:].strip(), len(phrase) + 1, False, False)
    bare = folded.strip(" \t-–—|*•·:.!>»…")
    if not bare or len(bare.split()) > LABEL_MAX_WORDS + 1:
        return None
    found = _label_phrase(bare)
    if found:
        return _Teaser(found[0], "", len(line), found[1], False)
    strong = _STRONG_PREFIX.match(bare + " ")  # "More from our running blog", "Weitere Artikel zum Thema"
    if strong and len(bare.split()) - len(strong.group(1).split()) <= 3:
        return _Teaser(strong.group(1), "", len(line), False, False)
    return None


def _strip_inline_teasers(line: str) -> tuple[str, list[str]]:
    """Remove "Lire aussi : <title>." style teasers that sit inside a paragraph."""
    folded = _fold_line(line)
    text, phrases = (folded, _INLINE_TEASER_FOLDED) if len(folded) == len(line) else (line, _INLINE_TEASER)
    removed: list[str] = []
    pieces: list[str] = []
    position = 0
    for start in (0, *(gap.end() for gap in _SENTENCE_GAP.finditer(text))):
        match = phrases.match(text, start) if start >= position else None
        if not match:
            continue
        title = _TITLE_TO_TERMINATOR.match(line[match.end():])
        end = match.end() + (title.end() if title else 0)
        pieces.append(line[position:start])
        removed.append(line[start:end].strip())
        position = end
    if not removed:
        return line, removed
    pieces.append(line[position:])
    return _normalize_line(" ".join(pieces)), removed


@functools.cache
def _builtin_embedder():
    from pipeline.embed import StaticUSE

    return StaticUSE()


EMBED_CHUNK = 2
"""Texts per encoder call. The cleaner embeds a handful of short texts at a time; from four rows on,
OpenBLAS spreads the small matrix products over threads, which costs ~10 ms per call instead of ~1."""


def builtin_similarity(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors from pagetag's built-in static USE encoder (built on first use)."""
    embedder, texts = _builtin_embedder(), list(texts)
    return np.vstack([embedder.embed(texts[i:i + EMBED_CHUNK]) for i in range(0, len(texts), EMBED_CHUNK)])


class _Meaning:
    """Cached sentence embeddings for one text; ``available`` is False when no encoder is given."""

    def __init__(self, similarity: Similarity | None):
        self.similarity = similarity
        self.available = similarity is not None
        self.cache: dict[str, np.ndarray] = {}

    def vectors(self, texts: list[str]) -> list[np.ndarray]:
        missing = [text for text in dict.fromkeys(texts) if text not in self.cache]
        if missing:
            for text, vector in zip(missing, np.asarray(self.similarity(missing), dtype=np.float32)):
                self.cache[text] = vector
        return [self.cache[text] for text in texts]

    def similarity_to(self, text: str, others: list[str]) -> list[float]:
        vectors = self.vectors([text, *others])
        return [float(np.dot(vectors[0], other)) for other in vectors[1:]]


# --- the cleaner ----------------------------------------------------------------------------

@dataclass
class _Item:
    """One entry of a list of other stories: headline, snippets and date lines (indices into the lines)."""

    lines: list[int]
    title: int | None = None
    snippets: list[int] = field(default_factory=list)
    dated: bool = False
    heading: str | None = None


class _Cleaner:
    """One pass over the paragraphs of one text; records every removal."""

    def __init__(self, link_texts: frozenset[str], meaning: _Meaning, threshold: float, title: str | None):
        self.link_texts = link_texts
        self.meaning = meaning
        self.threshold = threshold
        self.title = title
        self.removed: list[Removed] = []
        self.opening = title or ""
        self._roles: dict[str, str] = {}

    def drop(self, text: str, reason: str, signals: Iterable[str] = ()) -> None:
        self.removed.append(Removed(text=text, reason=reason, signals=list(signals)))

    def is_link_line(self, line: str) -> bool:
        return bool(self.link_texts) and _line_key(line) in self.link_texts

    def opening_of(self, lines: list[str]) -> str:
        """Title and first paragraphs: what the article is about (compared with candidate teasers)."""
        return " ".join(([self.title] if self.title else []) + lines[:4])[:OPENING_CHARS]

    # furniture and labelled teasers ------------------------------------------------------------

    def strip_furniture(self, lines: list[str]) -> list[str]:
        """Drop share/newsletter/cookie/ad lines, buttons, labelled teasers and "read also" blocks.

        A "read also" heading that opens the list of stories at the end of the text is left, with its
        items, to :meth:`drop_trailing_block`.
        """
        content: list[str] = []
        for line in lines:
            reason = _furniture_reason(line, _fold_line(line))
            if reason:
                self.drop(line, reason, ["furniture"])
            else:
                content.append(line)
        kept: list[str] = []
        index = 0
        while index < len(content):
            line = content[index]
            index += 1
            teaser = _labelled_line(line)
            if teaser:
                label = [f"label:{teaser.phrase}"] + (["label_typo"] if teaser.fuzzy else [])
                if not re.search(r"\w", teaser.title):
                    if index < len(content) and self.item_region(content[index - 1:])[0] == 0:
                        kept.extend(content[index - 1:])
                        break
                    self.drop(line, "teaser", [*label, "heading"])
                    index = self.skip_teaser_block(content, index, teaser.phrase)
                    continue
                if teaser.phrase in _STRONG_SET or teaser.separator:
                    if len(teaser.title.split()) <= TEASER_TITLE_MAX_WORDS:
                        self.drop(line, "teaser", [*label, "one_line"])
                        continue
                    title = _TITLE_TO_TERMINATOR.match(teaser.title)
                    if title:
                        self.drop(line[: teaser.title_start + title.end()].strip(), "teaser", [*label, "inline"])
                        line = teaser.title[title.end():].strip()
            elif _BUTTON_LINE.match(_fold_line(line)):
                self.drop(line, "teaser", ["button"])
                continue
            line, inline = _strip_inline_teasers(line)
            for text in inline:
                self.drop(text, "teaser", ["inline_label"])
            if line:
                kept.append(line)
        return kept

    def skip_teaser_block(self, lines: list[str], index: int, phrase: str) -> int:
        """After a "read also" heading inside the text, drop the items under it up to the article's next line.

        Headlines and date lines go; a snippet goes when it ends with an ellipsis or follows a linked
        headline. The last headline before an article paragraph stays when it introduces that
        paragraph (meaning), as a sub-heading would.
        """
        signals = [f"heading:{phrase}"]
        start = index
        previous_was_link = False
        while index < len(lines) and index - start < MAX_BLOCK_LINES:
            line = lines[index]
            following = lines[index + 1] if index + 1 < len(lines) else None
            if self.is_link_line(line) or _is_headline(line) or _BULLET.match(line):
                if (following is not None and not self.is_link_line(line)
                        and self.introduces(line, following, lines[start:index])):
                    break
                previous_was_link = self.is_link_line(line)
            elif _META_LINE.match(_fold_line(line)) or _CATEGORY_LINE.match(line):
                pass
            elif len(line.split()) <= SNIPPET_MAX_WORDS and (previous_was_link or _ends_with_ellipsis(line)):
                previous_was_link = False
            else:
                break
            self.drop(line, "teaser", signals)
            index += 1
        return index

    def introduces(self, headline: str, paragraph: str, block: list[str]) -> bool:
        """True when ``headline`` is a sub-heading of the article paragraph after it, not one more teaser."""
        if _is_headline(paragraph) or _ends_with_ellipsis(paragraph) or self.is_link_line(paragraph):
            return False
        if not block:
            return True  # nothing dropped yet: a heading with no headline under it is only a label
        if not self.meaning.available:
            return False
        return self.meaning.similarity_to(headline, [paragraph])[0] >= SUBHEADING_SIMILARITY

    # lists of other stories ------------------------------------------------------------------------

    def line_role(self, line: str) -> str:
        """H: related heading, M: date line, C: one-word category ("Santé"), E: ellipsis snippet, T: headline,
        S: short text, X: article prose."""
        if line not in self._roles:
            self._roles[line] = self._line_role(line)
        return self._roles[line]

    def _line_role(self, line: str) -> str:
        teaser = _labelled_line(line)
        if teaser and not re.search(r"\w", teaser.title):
            return "H"
        if _META_LINE.match(_fold_line(line)):
            return "M"
        if _CATEGORY_LINE.match(line):
            return "C"
        if self.is_link_line(line):
            return "T"
        if _CITATION.search(line) or (_CONTACT_OR_NUMBER.search(_BULLET.sub("", line)) and not _is_headline(line)):
            return "X"
        n_words = len(line.split())
        if _ends_with_ellipsis(line) and n_words <= SNIPPET_MAX_WORDS:
            return "E"
        if _BULLET.match(line) or line.startswith("|"):
            return "X"  # list and table rows: the article's own (a "read also" list is taken with its heading)
        if _is_headline(line):
            return "T"
        return "S" if n_words <= SNIPPET_MAX_WORDS else "X"

    def item_region(self, lines: list[str]) -> tuple[int, list[_Item]]:
        """The trailing lines that read as a list of story items, and those items.

        Scans back from the end over short lines, then parses forward: an item is a headline with date or
        category lines and at most one snippet, or a snippet cut with an ellipsis (or alone under a related
        heading). A snippet without a headline before it is article text, and so is a plain snippet
        under the last of several bare headlines (the article going on after its teasers): the list
        can only start after them.
        """
        start = len(lines)
        roles: list[str] = []
        while start > 0 and len(lines) - start < MAX_BLOCK_LINES:
            role = self.line_role(lines[start - 1])
            if role == "X":
                break
            roles.insert(0, role)
            start -= 1
        items: list[_Item] = []
        current: _Item | None = None
        heading: str | None = None
        region_start = len(lines)
        for offset, role in enumerate(roles):
            index = start + offset
            if role == "H":
                current = None
                phrase = _labelled_line(lines[index]).phrase
                heading = heading if heading and phrase in _BUTTONS else phrase  # "Lire la suite" between items
                region_start = min(region_start, index)
                continue
            next_role = roles[offset + 1] if offset + 1 < len(roles) else None
            has_body = current is not None and (current.title is not None or bool(current.snippets))
            orphan = role == "S" and heading is not None and (current is None or current.title is None)
            if role == "S" and not orphan and (current is None or current.title is None or current.snippets
                                               or self.lone_plain_snippet(lines, items, heading)):
                items, current, heading, region_start = [], None, None, len(lines)  # article text: start over
                continue
            if (current is None or orphan or role == "T" and has_body or role in "MC" and next_role == "T" and has_body
                    or role == "E" and (current.snippets or current.title is None and has_body)):
                current = _Item(lines=[], heading=heading)
                items.append(current)
                region_start = min(region_start, index)
            current.lines.append(index)
            if role == "T":
                current.title = index
            elif role in "MC":
                current.dated = current.dated or role == "M"
            else:
                current.snippets.append(index)
        return region_start, items

    def lone_plain_snippet(self, lines: list[str], items: list[_Item], heading: str | None) -> bool:
        """True when a plain snippet after the current headline would be the only one among several
        bare headlines of its group: a list of headlines does not end with one snippet."""
        group = [item for item in items if item.heading == heading]
        return len(group) >= 2 and not any(item.snippets for item in group) and not self.is_link_line(
            lines[group[-1].title] if group[-1].title is not None else "")

    def item_evidence(self, lines: list[str], item: _Item) -> tuple[list[str], str]:
        """Structural evidence that ``item`` is another story, and what meaning must still settle:
        "" (nothing: the signals decide), "orphan" (a snippet alone under a related heading), "bare" (a
        headline alone) or "snippet" (a headline with a plain sentence); (no signals, "") keeps the item."""
        signals = []
        if item.heading:
            signals.append(f"heading:{item.heading}")
        if any(self.is_link_line(lines[i]) for i in item.lines):
            signals.append("link")
        if any(_ends_with_ellipsis(lines[i]) for i in item.lines):
            signals.append("ellipsis")
        if item.dated:
            signals.append("date")
        if item.title is None and not item.dated and signals == [f"heading:{item.heading}"]:
            # its headline was not extracted, or the article goes on after the heading
            return signals, "orphan" if self.meaning.available else ""
        if signals:
            return signals, ""
        title = lines[item.title] if item.title is not None else ""
        if not title or title.endswith("!") or self.link_texts:
            # an exclamation, or (the page's links being known) a headline that links nowhere: only
            # structure could tell
            return [], ""
        if not self.meaning.available:
            return (["headline_shape"], "") if not item.snippets else ([], "")
        return [], "snippet" if item.snippets else "bare"

    def meaning_signal(self, lines: list[str], item: _Item, need: str, article_words: Callable[[], set[str]]) -> str:
        """The off-topic signal that lets meaning remove ``item`` (see :meth:`item_evidence`), or "".

        A headline with a plain sentence under it reads like a sub-heading with its paragraph: it goes
        only far from the article and sharing none of its words.
        """
        text = " ".join(lines[i] for i in item.lines)
        if need == "snippet":
            return self.off_topic(text, article_words, FAR_SIMILARITY, strict=True)
        return self.off_topic(text, article_words, self.threshold)

    def off_topic(self, text: str, article_words: Callable[[], set[str]], bound: float, strict: bool = False) -> str:
        """A signal when ``text`` is topically far from the article (empty string when it is not).

        Far means cosine to the opening below ``bound``, or (unless ``strict``) no content word
        shared with the article and cosine below ``SIMILARITY_THRESHOLD + 0.1``.
        """
        if not self.meaning.available:
            return ""
        shared = _content_stems(text) & article_words()
        if strict and shared:
            return ""
        similarity = self.meaning.similarity_to(text, [self.opening])[0]
        if similarity < bound:
            return f"off_topic:{similarity:.2f}<{bound:.2f}"
        if not shared and similarity < SIMILARITY_THRESHOLD + 0.1:
            return f"off_topic:no_shared_words,{similarity:.2f}"
        return ""

    def drop_trailing_block(self, lines: list[str]) -> list[str]:
        """Drop the list of other stories after the article, as one unit, snippets included.

        Items are judged from the last one back; the block stops at the first item that belongs to the
        article. Items with a related heading, linked headlines, ellipsis snippets or date lines go on
        structure. Bare headlines go when topically far from the article's opening, in a run of at least
        ``MIN_TRAILING_RUN``; a headline with a plain sentence under it only when far and sharing no word;
        an exclamation needs structure. A list introduced by the article (a line ending with ":") or
        following a references heading stays.
        """
        region_start, items = self.item_region(lines)
        if not items:
            return lines
        evidence = []
        for item in reversed(items):
            signals, need = self.item_evidence(lines, item)
            if not signals and not need:
                break
            evidence.append((item, signals, need))
        if len(evidence) < MIN_TRAILING_RUN and not any(item.heading for item, _, _ in evidence):
            return lines  # decided before any embedding: one story item alone is no list
        article_words = functools.cache(
            lambda: _content_stems(" ".join(([self.title] if self.title else []) + lines[:region_start])))
        chosen: list[tuple[_Item, list[str], bool]] = []
        for item, signals, need in evidence:
            if need:
                off_topic = self.meaning_signal(lines, item, need, article_words)
                if not off_topic:
                    break
                signals = [*signals, off_topic]
            chosen.append((item, signals, need == "orphan" or not need and "headline_shape" not in signals))
        if not chosen:
            return lines
        if any(item.heading for item, _, _ in chosen):  # before a related heading is the article's own text
            while chosen and not chosen[-1][0].heading and not chosen[-1][2]:
                chosen.pop()
        chosen.reverse()
        if len(chosen) < MIN_TRAILING_RUN and not any(item.heading for item, _, _ in chosen):
            return lines  # one story item alone is no list (a last paragraph may well end with "...")
        start = chosen[0][0].lines[0]
        if sum(len(line.split()) for line in lines[:start]) < MIN_ARTICLE_WORDS:
            return lines  # nothing of an article would be left: the text is not followed by a list, it is one
        if start > 0 and lines[start - 1].rstrip().endswith(":") and not any(s for _, _, s in chosen):
            return lines  # a list the article introduces ("Symptoms include:")
        if not any(s for _, _, s in chosen) and any(
                _REFERENCES_HEADING.match(fold(line)) for line in lines[max(0, start - MAX_BLOCK_LINES):start]):
            return lines
        heading_line = start - 1 if start > 0 and self.is_block_heading(lines[start - 1], chosen) else None
        if heading_line is not None:
            start = heading_line
        block = [f"items:{len(chosen)}"]
        evidence_of = {index: signals for item, signals, _ in chosen for index in item.lines}
        for index in range(start, len(lines)):  # headings between the items go with the block too
            self.drop(lines[index], "trailing_links", [*block, *evidence_of.get(index, ["heading"])])
        return lines[:start]

    def is_block_heading(self, line: str, chosen: list) -> bool:
        """A short title-shaped line right above a removed list ("Nos derniers articles") is its heading."""
        teaser = _labelled_line(line)
        if teaser and not re.search(r"\w", teaser.title):
            return True
        structural = sum(1 for _, _, s in chosen if s)
        return structural >= MIN_TRAILING_RUN and _is_headline(line) and len(line.split()) <= LABEL_MAX_WORDS

    # teasers decided by meaning --------------------------------------------------------------------

    def drop_offtopic_teasers(self, lines: list[str]) -> list[str]:
        """Drop one-line teasers that no label gives away, on meaning: an "<unknown label>: <title>" line,
        a linked title, or a title followed directly by a sub-heading, between the article's paragraphs.

        Short titles make an embedding unreliable, so meaning decides only for headline-like titles of
        four words or more (no figures, no exclamation) that share no content word with the rest of the
        text and stay below ``TEASER_SIMILARITY`` to the opening and to the paragraphs around them. Real
        sub-headings stay: numbered steps, section labels ("Résultats :"), repeated labels.
        """
        if not self.meaning.available or len(lines) < 3:
            return lines
        candidates = []
        labels_seen = functools.cache(lambda: [fold(split[0]).strip() for split in map(_split_label, lines) if split])
        for index in range(1, len(lines) - 1):
            candidate = self.teaser_candidate(lines, index, labels_seen, candidates)
            if candidate:
                candidates.append((index, *candidate))
        if not candidates:
            return lines
        skipped = {index for index, _, _ in candidates}
        rest = [line for i, line in enumerate(lines) if i not in skipped]
        opening = self.opening_of(rest)  # the same text, and vector, as self.opening unless a candidate is in it
        article_words = _content_stems(" ".join(([self.title] if self.title else []) + rest))
        dropped = set()
        for index, title, signals in candidates:
            if _content_stems(title) & article_words:
                continue
            neighbours = [self.nearest_paragraph(lines, index, step) for step in (-1, 1)]
            closest = max(self.meaning.similarity_to(title, [opening, *neighbours]))
            if closest < TEASER_SIMILARITY:
                dropped.add(index)
                self.drop(lines[index], "teaser",
                          [*signals, "no_shared_words", f"off_topic:{closest:.2f}<{TEASER_SIMILARITY}"])
        return [line for i, line in enumerate(lines) if i not in dropped]

    @staticmethod
    def nearest_paragraph(lines: list[str], index: int, step: int) -> str:
        """The closest line before (step -1) or after (step 1) ``index`` that is not title-shaped."""
        position = index + step
        while 0 <= position + step < len(lines) and _is_headline(lines[position]):
            position += step
        return lines[position]

    def teaser_candidate(self, lines: list[str], index: int, labels_seen: Callable[[], list[str]], candidates: list
                         ) -> tuple[str, list[str]] | None:
        """(title, signals) when line ``index`` has the shape of a one-line teaser, else None."""
        line = lines[index]
        previous, following = lines[index - 1], lines[index + 1]
        previous_is_candidate = bool(candidates) and candidates[-1][0] == index - 1
        if _BULLET.match(line) or line.startswith("|") or (
                _is_headline(previous) and not self.is_link_line(previous) and not previous_is_candidate):
            return None
        split = _split_label(line)
        if split and split[1] in (":", ">", ">>", "»", "|", "]") and split[3]:
            label, title = split[0], split[3].strip()
            folded_label = fold(label).strip()
            if (len(label.split()) > LABEL_MAX_WORDS or re.search(r"\d", label) or folded_label in _SECTION_LABELS
                    or not self.teaser_title(title) or labels_seen().count(folded_label) > 1):
                return None
            return title, ["label_shape", *(["link"] if self.is_link_line(title) else [])]
        if not self.teaser_title(line):
            return None
        if self.is_link_line(line):
            return line, ["link", "headline_shape"]
        if len(line.split()) >= 5 and _is_headline(following) and not self.is_link_line(following):
            return line, ["headline_shape", "no_body"]  # a title followed by a sub-heading introduces nothing
        return None

    @staticmethod
    def teaser_title(title: str) -> bool:
        """A headline of another article: four words or more, no figures, ending in a letter, a quote or "?",
        not all capitals."""
        return (_is_headline(title) and len(title.split()) >= 4 and not re.search(r"\d", title)
                and (title[-1].isalpha() or title[-1] in "?\"'»”") and not title.isupper())

    # duplicates --------------------------------------------------------------------------------

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
                self.drop(line, "duplicate_paragraph", ["repeated"])
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
                    self.drop(sentence, "duplicate_sentence", ["repeated"])
                    continue
                seen_sentences.add(sentence_key)
                unique.append(sentence)
            if unique:
                kept.append(line if len(unique) == len(sentences) else " ".join(unique))
        return kept


def _count(removed: list[Removed], *reasons: str) -> float:
    return float(sum(1 for item in removed if item.reason in reasons))


def text_stats(text: str, paragraphs: list[str], removed: list[Removed], *, original_chars: int,
               mojibake_fixed: int, link_chars: int) -> dict[str, float]:
    """Numeric, language-neutral features of the clean text and of what was removed."""
    characters = Counter(text)  # classes are counted over distinct characters, not over the whole text
    n_letters = sum(count for char, count in characters.items() if char.isalpha())
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
        "digit_ratio": sum(count for char, count in characters.items() if char.isdigit()) / n_chars if n_chars else 0.0,
        "uppercase_ratio": (
            sum(count for char, count in characters.items() if char.isupper()) / n_letters if n_letters else 0.0
        ),
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
    similarity: Similarity | str | None = BUILTIN,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    link_texts: Iterable[str] = (),
) -> CleanResult:
    """Clean already-extracted text; ``link_texts`` are anchor texts of the source HTML, if any.

    ``similarity`` (texts -> L2-normalised embeddings; default: the built-in static USE, loaded only
    when structure cannot decide; ``None``: structure only) lets meaning decide whether trailing
    headlines and unlabelled teasers are off-topic (cosine to the article's opening below
    ``similarity_threshold`` for trailing headlines).
    """
    repaired, mojibake_fixed = repair_mojibake(text)
    lines = [line for line in (_normalize_line(raw) for raw in repaired.splitlines()) if line]
    meaning = _Meaning(builtin_similarity if similarity == BUILTIN else similarity)
    cleaner = _Cleaner(frozenset(_line_key(_normalize_line(t)) for t in link_texts), meaning, similarity_threshold,
                       title)
    link_chars = sum(len(line) for line in lines if cleaner.is_link_line(line))
    lines = cleaner.strip_furniture(lines)
    lines = cleaner.drop_duplicates(lines)
    cleaner.opening = cleaner.opening_of(lines)
    lines = cleaner.drop_trailing_block(lines)
    lines = cleaner.drop_offtopic_teasers(lines)
    clean = "\n".join(lines)
    stats = text_stats(
        clean, lines, cleaner.removed,
        original_chars=len(text), mojibake_fixed=mojibake_fixed, link_chars=link_chars,
    )
    return CleanResult(input=input, title=title, language=detect_language(clean[:LANGUAGE_SAMPLE_CHARS]), text=clean,
                       removed=cleaner.removed, stats=stats)


def word_count(text: str) -> int:
    """Words of ``text``: space-separated words, plus about one per two letters of scripts without spaces."""
    unspaced = len(_UNSPACED_CHAR.findall(text))
    return len(text.split()) + unspaced // UNSPACED_CHARS_PER_WORD


def _has_prose(text: str) -> bool:
    """True when some line reads as a sentence of an article (not menus or buttons)."""
    return any(len(line.split()) >= 12 and line.rstrip()[-1] in _SENTENCE_END for line in text.splitlines() if line.strip())


def anchor_texts(tree) -> set[str]:
    """Texts of the page's links to other pages (whole anchors and their text pieces), for spotting
    link-only lines."""
    texts: set[str] = set()
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:")):
            continue  # a table-of-contents entry or a button: it points to no other page
        pieces = [_normalize_line(piece) for piece in anchor.itertext()]
        whole = _normalize_line(" ".join(pieces))
        for candidate in [whole, *pieces]:
            if len(candidate) >= 12 and " " in candidate:
                texts.add(candidate)
    return texts


def clean_html(html: str, *, url: str | None = None, input: str = "",
               similarity: Similarity | str | None = BUILTIN) -> CleanResult:
    """Extract the main text with trafilatura, then clean it with :func:`clean_text`.

    A page whose precision-oriented extraction is nearly empty is re-extracted with trafilatura's
    balanced settings (see ``RECALL_FALLBACK_CHARS``).
    """
    import trafilatura
    from trafilatura.metadata import extract_title
    from trafilatura.utils import load_html

    label = input or url or "the page"
    tree = load_html(html)
    if tree is None:
        raise InputError(f"no main text could be extracted from {label}")
    # only the title is needed from the metadata: full metadata extraction (dates, authors) would
    # cost as much again as the cleaning
    title, links = extract_title(tree), anchor_texts(tree)

    def extract(**options) -> CleanResult | None:
        document = trafilatura.bare_extraction(tree, url=url, **{**TRAFILATURA_OPTIONS, **options})
        if document is None or not (document.text or "").strip():
            return None
        return clean_text(document.text, input=input, title=title, similarity=similarity, link_texts=links)

    result = extract()
    if result is None or len(result.text) < RECALL_FALLBACK_CHARS:
        balanced = extract(favor_precision=False)
        if balanced is not None and _has_prose(balanced.text) and (
                result is None or len(balanced.text) >= RECALL_FALLBACK_RATIO * len(result.text)):
            result = balanced
    if result is None or word_count(result.text) < MIN_MAIN_TEXT_WORDS:
        raise InputError(f"no main text could be extracted from {label}")
    result.page = page_evidence(tree, url)
    return result


def clean_page(page: Page, *, similarity: Similarity | str | None = BUILTIN) -> CleanResult:
    """Clean a page read by :func:`pipeline.fetch.read_input` (HTML or plain text)."""
    if page.html is not None:
        return clean_html(page.html, url=page.url, input=page.input, similarity=similarity)
    result = clean_text(page.text or "", input=page.input, similarity=similarity)
    if not result.text.strip():
        raise InputError(f"no text left in {page.input} after cleaning")
    return result
