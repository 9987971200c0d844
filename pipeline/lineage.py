"""Lineage: which pages report the same study, and in which order the story travelled.

A page's *study fingerprint* (:func:`fingerprint`) holds what identifies the study it reports and survives
rewriting and translation: trial registry ids, DOIs, journal and meeting names, dates, sample sizes and
other numbers (read with the page language's decimal and thousands separators), researchers' surnames,
institution names and other proper-noun tokens. :func:`pair_features` compares two fingerprints plus the
cosine of the pages' multilingual embeddings; a :class:`StudyLinker` (a logistic regression over those
features, fitted by ``benchmarks/lineage.py`` on part of the hand-checked pairs in
``corpus/lineage_pairs.jsonl`` and stored in ``models/lineage.json``) turns them into the probability that
two pages report the same study, and :meth:`StudyLinker.group` links pages into groups. Each group is
ordered by role (:func:`role_rank`: scientific → press release → news → blog / SEO / commercial → other).
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.errors import PagetagError

DEFAULT_LINKER_PATH = Path(__file__).resolve().parent.parent / "models" / "lineage.json"
EMBED_CHARS = 3000
DATELINE_CHARS = 400
"""A page's dateline is its first full date within this many characters of the top."""
CANDIDATE_NEIGHBOURS = 5
"""Besides pages that share a fingerprint key, each page is compared with its nearest embedding neighbours."""
MAX_KEY_PAGES = 50
"""A fingerprint key found on more pages than this (a common number, a big journal) proposes no pairs."""

ROLE_ORDER = ("scientific", "press_release", "news", "blog", "seo_content", "commercial")

# --- vocabulary ------------------------------------------------------------------------------

MONTHS = {
    1: "january jan janvier janv januar jän",
    2: "february feb février fév févr februar",
    3: "march mar mars märz mrz",
    4: "april apr avril avr",
    5: "may mai",
    6: "june jun juin juni",
    7: "july jul juillet juil juli",
    8: "august aug août",
    9: "september sept sep septembre",
    10: "october oct octobre oktober okt",
    11: "november nov novembre",
    12: "december dec décembre déc dezember dez",
}
_MONTH_NUMBER = {name: number for number, names in MONTHS.items() for name in names.split()}
_MONTH = "|".join(sorted(map(re.escape, _MONTH_NUMBER), key=len, reverse=True))

JOURNALS = (
    "New England Journal of Medicine", "NEJM", "The Lancet", "Lancet", "JAMA", "BMJ", "British Medical Journal",
    "PNAS", "Proceedings of the National Academy of Sciences", "PLOS ONE", "PLoS One", "PLOS Medicine",
    "Diabetes Care", "Annals of Internal Medicine", "Archives of Internal Medicine", "Journal of Clinical Oncology",
    "Journal of the National Cancer Institute", "Journal of the American Medical Association",
    "Journal of the American College of Cardiology", "Journal of the American Heart Association",
    "American Journal of Clinical Nutrition", "Journal of Nutrition", "Obstetrics & Gynecology", "Cochrane Library",
    "Cochrane Database of Systematic Reviews", "European Heart Journal", "Journal of Urology",
    "Science Translational Medicine", "Nature Medicine", "Nature Biotechnology", "Cell Metabolism",
    "Mayo Clinic Proceedings", "Academic Emergency Medicine", "Journal of Psychopharmacology", "Autism Research",
    "BMC Medicine", "Tobacco Control",
)
"""Journal names recognised anywhere in a page."""
JOURNALS_IN_CONTEXT = frozenset(
    "nature science cell cancer neurology radiology pediatrics circulation gut blood brain stroke hypertension "
    "aging menopause ophthalmology diabetologia thorax diabetes obesity".split())
"""One-word journal names that are also ordinary words: counted only after "published in", "journal" etc."""
_JOURNAL_ALIASES = {
    "nejm": "new england journal of medicine", "british medical journal": "bmj",
    "proceedings of the national academy of sciences": "pnas", "proceedings of the national academy of science": "pnas",
    "journal of the american medical association": "jama", "cochrane database of systematic reviews": "cochrane library",
}
_JOURNAL_FAMILY = re.compile(r"\b(?:(?:The\s+)?Lancet|JAMA|Nature|BMJ|Cell)\s+(?:[A-Z][\w&-]*\s*){1,4}")
_NAMED_JOURNAL = re.compile(
    r"\b(?:journal|revue|Zeitschrift|Fachzeitschrift|Fachjournal|Fachmagazin|Fachblatt|magazine|Magazin)"
    r"\s+(?:[«„\"“]\s*)?((?:[A-Z][\w&'’-]*|of|the|and|for|on|de|des|du|la|le|für|und)"
    r"(?:\s+(?:[A-Z][\w&'’-]*|of|the|and|for|on|de|des|du|la|le|für|und)){0,7})")
_PUBLISHED_IN = re.compile(
    r"\b(?:published|appears?|appearing|reported|publiée?s?|parue?s?|veröffentlicht|erschienen|publiziert)"
    r"(?:\s+\w+){0,3}?\s+(?:in|im|dans)\s+(?:the\s+|der\s+|la\s+|le\s+|l[’'])?((?:[A-Z][\w&'’-]*)(?:\s+(?:[A-Z][\w&'’-]*|of|the|and|for))*)")
_MEETING = re.compile(
    r"\b((?:annual\s+)?(?:meeting|congress|conference|symposium|session|Kongress|Jahrestagung|Tagung|congrès|réunion)"
    r"\s+(?:of\s+the\s+|der\s+|des\s+|de\s+la\s+|de\s+l[’']|du\s+)?((?:[A-Z][\w&'’-]*)(?:\s+(?:[A-Z][\w&'’-]*|of|for|and|on)){1,8}))"
    r"|\b((?:[A-Z][\w&'’-]*\s+){1,6})(?:Annual\s+)?(?:Meeting|Congress|Conference|Symposium|Scientific\s+Sessions?|Week)\b"
    r"|\b(ObesityWeek|ASCO|RSNA|ESMO|ASH|AACR|ESC|AHA|ACC|ATS|ERS|AAN|ASTRO|ENDO|AAIC|SABCS)\b")
_FUNCTION_WORDS = {"of", "the", "and", "for", "on", "de", "des", "du", "la", "le", "für", "und"}

REGISTRY = re.compile(r"\b(NCT\d{8}|ISRCTN\d{8}|ACTRN\d{14}|DRKS\d{8}|ChiCTR[-\w]{6,20}|EudraCT[\s:#-]*(?:No\.?\s*)?\d{4}-\d{6}-\d{2})\b",
                      re.IGNORECASE)
DOI = re.compile(r"\b(10\.\d{4,9}/(?:[^\s\"<>()\[\]]|\([^\s()]*\))+)")
_URL_OR_EMAIL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+")

_PARTICIPANTS = (
    r"patient|participant|people|person|adult|child|kid|women|woman|men|man|girl|boy|infant|bab(?:y|ies)|subject|"
    r"volunteer|individual|smoker|survivor|veteran|mother|pregnan|student|teen|adolescent|resident|nurse|"
    r"teilnehm|proband|mensch|erwachsen|kinder|frauen|männer|schwanger|säugling|raucher|versuchsperson|"
    r"personne|adulte|enfant|femme|homme|sujet|volontaire|nourrisson|fumeu|malade"
)
"""Stems of words for the people in a study (en, de, fr): "413 patients", "2.904 Kindern", "618 adultes"."""
_NUMBER_TOKEN = r"\d{1,3}(?:(?:[,.]|[\u00a0\u202f ](?=\d{3}(?!\d)))\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
"""A number with optional thousands groups (comma, dot, or a space before exactly three digits) and decimals."""
_NUMBER = re.compile(rf"(?<![\w.,/-])({_NUMBER_TOKEN})(?![\w/]|[.,]\d)")
_UNITS = (r"trials?|stud(?:y|ies)|countries|sites|centres?|centers?|hospitals|clinics|years?|months?|weeks?|days?|hours?|"
          r"percent|per\s*cent|times|doses?|million|billion|millions?|milliards?|Millionen|Milliarden|Studien|Länder|"
          r"Kliniken|Jahren?|Monate[n]?|Wochen|Prozent|essais|études|pays|ans|mois|semaines|pour\s*cent|fois")
"""Words that make the number before a people noun something else: "13 trials with people", "400 million people"."""
_SAMPLE = re.compile(rf"(?i)\bn\s*=\s*({_NUMBER_TOKEN})\b|(?<![\w.,/-])({_NUMBER_TOKEN})\s+(?!(?:{_UNITS})\b)"
                     rf"(?:[\w-]+\s+(?!(?:{_UNITS})\b)){{0,2}}?(?:{_PARTICIPANTS})\w*\b")
_TIME_OR_PHONE = re.compile(r"\b\d{1,2}[:h]\d{2}\b|\+?\(?\d{2,4}\)?[-\s.]\d{2,4}[-\s.]\d{3,4}\b")

_TITLE = r"(?:Dr\.?|Drs\.?|Prof\.?|Professor(?:in)?|(?i:professeure?|docteure?)|Pr\.?|Dre?\.?|Doktor)"
_NAME = r"[A-ZÀ-ÖØ-Þ][\w'’-]+"
_SPEECH = (r"said|says|explained|explains|added|adds|noted|told|according\s+to|sagt|sagte|erklärt|erklärte|betont|betonte|"
           r"explique|a\s+expliqué|déclare|a\s+déclaré|selon|souligne|indique")
_ROLE = (r"led\s+by|headed\s+by|geleitet\s+von|dirigée?\s+par|menée?\s+par|researcher|scientist|investigator|author|"
         r"Forscher(?:in)?|Wissenschaftler(?:in)?|chercheuse|chercheur|lead\s+author|senior\s+author|study\s+author|first\s+author|co-author|principal\s+investigator|lead\s+investigator|"
         r"lead\s+researcher|study\s+leader|Studienleiter(?:in)?|Studienautor(?:in)?|Erstautor(?:in)?|Hauptautor(?:in)?|"
         r"auteur\s+principal|autrice\s+principale|chercheur|chercheuse")
_PERSON_NAME = rf"((?:{_NAME}\s+)(?:[A-Z]\.\s+)?{_NAME})"
PERSON_PATTERNS = (
    re.compile(rf"\b{_TITLE}\s+((?:{_NAME}\s+){{0,2}}(?:[A-Z]\.\s+)?{_NAME})"),
    re.compile(rf"\b{_PERSON_NAME},?\s+(?:M\.?D\.?|Ph\.?D\.?|MPH|ScD|DrPH|M\.?Sc\.?|FRCP|DPhil|RN|DMD|DDS|DSc|MBBS)\b"),
    re.compile(rf"\b(?:{_SPEECH}|{_ROLE})\s*,?\s+(?:(?:{_ROLE})\s+)?(?:{_TITLE}\s+)?{_PERSON_NAME}"),
    re.compile(rf"\b{_PERSON_NAME},?\s+(?:{_SPEECH})\b"),
)
"""A researcher: after a title, before credentials, next to a speech verb or a study role (en, de, fr)."""
_INSTITUTION = re.compile(
    rf"\b(?i:University|Université|Universität|Universiteit|Università|Universidad|Universitätsklinikum|Uniklinik|Klinikum|"
    rf"Hôpital|Hospital|Institut|Institute|Krankenhaus|CHU|Centre\s+hospitalier)\s+(?:of|de|du|des|d[’']|von|zu|für|for)?\s*"
    rf"((?:{_NAME})(?:[\s-]{_NAME}){{0,3}})"
    rf"|\b((?:{_NAME}[\s-]){{1,3}})(?:University|Universität|Hospital|Medical\s+Cent(?:er|re)|Cancer\s+Cent(?:er|re)|"
    rf"Institute|Clinic|Health|School\s+of\s+Medicine|College|Research\s+Cent(?:er|re)|Children's\s+Hospital|Klinik)\b")
_GENERIC_NAME_WORDS = frozenset(
    "the of and for de du des la le les von und für university université universität hospital institute institut "
    "school medicine medical center centre college clinic health research national american british european "
    "department study studie étude new this that these researchers team professor doctor dr prof world global "
    "organization organisation society association foundation council agency ministry federal state public "
    "sciences science cancer heart children's children women's general memorial comprehensive".split())
_BOILERPLATE_START = re.compile(
    r"(?m)^\s*(?:(?:About|ABOUT|Über|À\s+propos\s+d[eu’']|A\s+propos\s+d[eu’'])\s*(?:the\s+|die\s+|das\s+|den\s+|la\s+|l[’'])?[A-Z]|"
    r"(?i:notes?\s+to\s+editors|media\s+contacts?\b|press\s+contacts?\b|pressekontakt|contact\s+presse)|###|-30-)")
"""Where a press release's trailing "About <organisation>" / contact block starts: it names the issuer, not the study."""
BOILERPLATE_FROM = 0.4
"""Only such a heading in the last 60% of the text starts boilerplate."""

_TOKEN = re.compile(r"(?<![\w'’-])([A-ZÀ-ÖØ-Þ0-9][\w'’-]*\w)")
_DRUG = re.compile(r"(?<![\w'’-])([A-Za-zà-ÿ]{3,}(?:mab|nib|ciclib|parib|lisib|stat|pril|sartan|olol|vir|cept|tide|gliptin|"
                   r"gliflozin|azole|oxacin|cycline|dronate|platin|taxel|rubicin|semide|prazole|tegravir))(?![\w'’-])", re.IGNORECASE)
"""Drug names by their international-nonproprietary-name stem: written in lower case in English and French."""
_SENTENCE_END_CHARS = frozenset(".!?:;…\"“”«»()[]")
STOP_ENTITIES = frozenset("""
cancer drug drugs disease society association administration program programme meeting control foundation
council institutes organization organisation ministry services world global north south east west journal
science sciences medicine clinical trial trials therapy treatment chief director president editor
a an the this that these those there their they we our he she his her it its in on at by for from with and or but if as
of to is are was were be been new study studies research researchers scientists doctors patients people health medical
university hospital institute center centre college school department national american british european international
monday tuesday wednesday thursday friday saturday sunday today yesterday news press release reuters healthday webmd
associated newswise eurekalert photo image credit source copyright advertisement related read more also however but
while when where what which who why how after before during although because since both each many most some such
dr prof professor md phd mph inc ltd corp co llc plc usa us uk eu fda nih cdc who
der die das den dem des ein eine einer einem eines und oder aber wenn weil dass mit bei von zu zur zum im in am an auf
für über unter nach vor seit auch nicht noch nur sehr mehr wie wir sie er es ihr ihre sein seine studie patienten
forscher wissenschaftler ärzte universität klinik krankenhaus institut zentrum ergebnisse behandlung therapie
le la les un une des du de et ou mais si que qui dans sur par pour avec sans selon chez nous vous ils elles il elle
ce cette ces son sa ses leur leurs étude chercheurs médecins patients université hôpital institut centre résultats
traitement selon lundi mardi mercredi jeudi vendredi samedi dimanche montag dienstag mittwoch donnerstag freitag
samstag sonntag
""".split()) | frozenset(_MONTH_NUMBER)

# --- fingerprints ----------------------------------------------------------------------------


@dataclass
class StudyFingerprint:
    """What identifies the study a page reports; every field is language-neutral (names, numbers, ids)."""

    language: str = "und"
    registry_ids: set[str] = field(default_factory=set)
    dois: set[str] = field(default_factory=set)
    journals: set[str] = field(default_factory=set)
    meetings: set[str] = field(default_factory=set)
    dates: set[datetime.date] = field(default_factory=set)
    months: set[tuple[int, int]] = field(default_factory=set)
    published: datetime.date | None = None
    """The publication date: from the page's URL, else its dateline (the first full date near the top; other
    dates may be of earlier events)."""
    sample_sizes: set[float] = field(default_factory=set)
    numbers: dict[float, float] = field(default_factory=dict)
    """Each informative number with its weight (more significant digits weigh more)."""
    researchers: set[str] = field(default_factory=set)
    institutions: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)

    def keys(self) -> set[str]:
        """Blocking keys: pages sharing none of these (and not embedding neighbours) are never compared."""
        keys = {f"r:{x}" for x in self.registry_ids} | {f"d:{x}" for x in self.dois} | {f"j:{x}" for x in self.journals}
        keys |= {f"n:{x:g}" for x, w in self.numbers.items() if w >= 1.0} | {f"p:{x}" for x in self.researchers}
        keys |= {f"s:{x:g}" for x in self.sample_sizes}
        return keys

    def summary(self) -> dict:
        """A JSON-ready view (sorted lists, ISO dates)."""
        return {
            "registry_ids": sorted(self.registry_ids), "dois": sorted(self.dois), "journals": sorted(self.journals),
            "meetings": sorted(self.meetings), "published": self.published.isoformat() if self.published else None,
            "dates": sorted(d.isoformat() for d in self.dates),
            "sample_sizes": sorted(_plain_number(x) for x in self.sample_sizes),
            "researchers": sorted(self.researchers), "institutions": sorted(self.institutions),
        }


def _plain_number(x: float):
    return int(x) if float(x).is_integer() else x


def _fold(text: str) -> str:
    """Lower case without accents: names written with or without diacritics compare equal."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def parse_number(token: str, language: str) -> float | None:
    """A number written the page language's way: ``1,297`` (en) = ``1.297`` (de) = ``1 297`` (fr); ``3,5`` (fr/de) = 3.5."""
    token = token.replace("\u00a0", " ").replace("\u202f", " ")
    if " " in token:
        token = token.replace(" ", "")
        grouped_by_space = True
    else:
        grouped_by_space = False
    has_comma, has_dot = "," in token, "." in token
    if has_comma and has_dot:
        decimal = "," if token.rfind(",") > token.rfind(".") else "."
    elif has_comma or has_dot:
        mark = "," if has_comma else "."
        thousands_shape = re.fullmatch(rf"\d{{1,3}}(?:{re.escape(mark)}\d{{3}})+", token) is not None
        if thousands_shape and (token.count(mark) > 1 or grouped_by_space):
            decimal = "." if mark == "," else ","
        elif thousands_shape and (mark == "," if language == "en" else mark == "."):
            decimal = "." if mark == "," else ","
        else:
            decimal = mark
    else:
        decimal = "."
    thousands = "," if decimal == "." else "."
    try:
        return float(token.replace(thousands, "").replace(decimal, "."))
    except ValueError:
        return None


def number_weight(value: float) -> float:
    """How much a shared number says: 413 or 5.4 a lot, 60 some, 10 or 2 almost nothing."""
    if value.is_integer() and value < 10:
        return 0.0
    digits = f"{value:.6f}".rstrip("0").rstrip(".").replace(".", "").lstrip("0")
    significant = len(digits.rstrip("0")) if value.is_integer() else len(digits)
    return 1.0 if significant >= 3 else 0.6 if significant == 2 else 0.25


def _dates(text: str, language: str) -> tuple[set[datetime.date], set[tuple[int, int]], list[tuple[int, int]], datetime.date | None]:
    """Full dates, (year, month) pairs, the character spans they cover and the dateline (12/03/2025 is day-first
    unless English)."""
    dates, months, spans, dateline = set(), set(), [], None
    slashed = (r"\b(?P<mn>\d{1,2})/(?P<d>\d{1,2})/(?P<y>(?:19|20)\d\d)\b" if language == "en"
               else r"\b(?P<d>\d{1,2})/(?P<mn>\d{1,2})/(?P<y>(?:19|20)\d\d)\b")
    patterns = (
        rf"(?i)\b(?P<m>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b",
        rf"(?i)\b(?P<d>\d{{1,2}})(?:er|\.)?\s+(?P<m>{_MONTH})\.?,?\s+(?P<y>(?:19|20)\d\d)\b",
        r"\b(?P<y>(?:19|20)\d\d)-(?P<mn>\d\d)-(?P<d>\d\d)\b",
        r"\b(?P<d>\d{1,2})\.(?P<mn>\d{1,2})\.(?P<y>(?:19|20)\d\d)\b",
        slashed,
        rf"(?i)\b(?P<m>{_MONTH})\.?\s+(?P<y>(?:19|20)\d\d)\b",
    )
    for pattern in patterns:
        for match in re.finditer(pattern, text):
            if any(start <= match.start() < end for start, end in spans):
                continue
            groups = match.groupdict()
            month = _MONTH_NUMBER[groups["m"].lower()] if groups.get("m") else int(groups["mn"])
            year = int(groups["y"])
            if not 1 <= month <= 12:
                continue
            spans.append(match.span())
            months.add((year, month))
            if groups.get("d"):
                try:
                    date = datetime.date(year, month, int(groups["d"]))
                except ValueError:
                    continue
                dates.add(date)
                if match.start() < DATELINE_CHARS and (dateline is None or match.start() < dateline[0]):
                    dateline = (match.start(), date)
    return dates, months, spans, dateline[1] if dateline else None


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _journal_key(name: str) -> str | None:
    """Normalised journal or meeting name ("The Lancet Oncology" → "lancet oncology"), or None for non-names."""
    words = name.strip(" .,;:'’\"“”«»").split()
    if words and words[0].lower() == "the":
        words = words[1:]
    while words and words[-1].lower() in _FUNCTION_WORDS:
        words.pop()
    if not words or len(words) == 1 and _fold(words[0]) in STOP_ENTITIES - JOURNALS_IN_CONTEXT:
        return None
    key = _fold(" ".join(words))
    key = _JOURNAL_ALIASES.get(key, key)
    return None if key in _MONTH_NUMBER or len(key) < 3 else key


_KNOWN_JOURNALS = frozenset(filter(None, map(_journal_key, JOURNALS))) | JOURNALS_IN_CONTEXT
_JOURNAL_NAMES = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(JOURNALS, key=len, reverse=True))) + r")(?![\w-])")


_JOURNAL_WORD = re.compile(
    r"\b(?:journal|annals|archives|proceedings|reviews?|reports|letters|bulletin|medicine|research|plos|bmc|"
    r"clinical|therapeutics|oncology|cardiology|neurology|pediatrics|psychiatry|epidemiology|nutrition|"
    r"gastroenterology|dermatology|rheumatology|urology|zeitschrift|revue|journale?)\b")
"""A name after "published in" that contains one of these words is a journal even when not in the list."""


def _journals(body: str) -> set[str]:
    """Journal names: known names anywhere, others only where the text says they are journals."""
    found = {_journal_key(m) for m in _JOURNAL_NAMES.findall(body)}
    for pattern in (_JOURNAL_FAMILY, _NAMED_JOURNAL, _PUBLISHED_IN):
        for match in pattern.finditer(body):
            key = _journal_key(match.group(1) if match.lastindex else match.group())
            if not key:
                continue
            known = any(key == j or key.startswith(j + " ") for j in _KNOWN_JOURNALS)
            if known or pattern is not _PUBLISHED_IN or _JOURNAL_WORD.search(key):
                found.add(key)
    found.discard(None)
    return {j for j in found if not any(o != j and o.startswith(j + " ") for o in found)}


def journals_match(a: set[str], b: set[str]) -> bool:
    """Same journal, allowing a family name for a member ("jama" ~ "jama neurology")."""
    return any(x == y or x.startswith(y + " ") or y.startswith(x + " ") for x in a for y in b)


def _name_keys(name: str) -> set[str]:
    return {_fold(w) for w in re.split(r"[\s-]+", name) if len(w) > 2 and _fold(w) not in _GENERIC_NAME_WORDS
            and _fold(w) not in STOP_ENTITIES}


def _title_case(line: str) -> bool:
    """An English headline in title case ("New Asthma Pill Makes Huge Difference"): its capitals say nothing."""
    words = [w for w in line.split() if w[:1].isalpha()]
    return len(line) < 200 and len(words) >= 4 and sum(w[0].isupper() for w in words) / len(words) > 0.6


def _entities(text: str, language: str, names: set[str]) -> set[str]:
    """Proper-noun-like tokens not at a sentence start (names, places, trial acronyms, product codes) and drug names.

    German capitalises every noun, so on German pages only tokens shaped like names (a digit, an inner
    capital, all capitals) or already found as a person or institution name count.
    """
    found = set()
    for line in text.splitlines():
        if language == "en" and _title_case(line):
            continue
        for match in _TOKEN.finditer(line):
            token = match.group(1)
            if token.endswith(("'s", "’s")):
                token = token[:-2]
            if len(token) < 3 or token.isdigit():
                continue
            i = match.start() - 1
            while i >= 0 and line[i].isspace():
                i -= 1
            if i < 0 or line[i] in _SENTENCE_END_CHARS:
                continue
            key = _fold(token)
            if key in STOP_ENTITIES:
                continue
            if language == "de" and key not in names and not (
                    token.isupper() or any(c.isdigit() for c in token) or any(c.isupper() for c in token[1:])):
                continue
            found.add(key)
    found.update(_fold(m) for m in _DRUG.findall(text))
    return found


def strip_boilerplate(text: str) -> str:
    """``text`` without a trailing "About <organisation>" / media-contact block (press releases end with one)."""
    for match in _BOILERPLATE_START.finditer(text):
        if match.start() >= BOILERPLATE_FROM * len(text):
            return text[:match.start()]
    return text


_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])(?:[/_-]?(0[1-9]|[12]\d|3[01]))?(?!\d)")
"""A publication date in a URL path: /2011/02/09/, /20110809, /2016-03/."""


def url_date(url: str | None) -> tuple[int, int, int | None] | None:
    """(year, month, day or None) from an http(s) URL's path, or None."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    path = url.split("://", 1)[1].partition("/")[2]
    match = _URL_DATE.search(path)
    return (int(match[1]), int(match[2]), int(match[3]) if match[3] else None) if match else None


def fingerprint(text: str, language: str = "en", url: str | None = None) -> StudyFingerprint:
    """Extract the :class:`StudyFingerprint` of a page's clean text; a date in its ``url`` is its publication date."""
    fp = StudyFingerprint(language=language)
    text = strip_boilerplate(unicodedata.normalize("NFC", text))
    fp.registry_ids = {re.sub(r"[\s:#-]|No\.?", "", m).upper().replace("EUDRACT", "EudraCT") for m in REGISTRY.findall(text)}
    fp.dois = {m.rstrip(".,;:").lower() for m in DOI.findall(text)}
    body = _URL_OR_EMAIL.sub(" ", text)
    body = DOI.sub(" ", REGISTRY.sub(" ", body))
    fp.journals = _journals(body)
    for match in _MEETING.finditer(body):
        name = next((g for g in (match.group(2), match.group(3), match.group(4)) if g), "")
        key = _journal_key(name)
        if key and key not in STOP_ENTITIES:
            fp.meetings.add(key)
    fp.dates, fp.months, date_spans, fp.published = _dates(body, language)
    published = url_date(url)
    if published:
        year, month, day = published
        fp.months.add((year, month))
        if day:
            try:
                fp.published = datetime.date(year, month, day)
                fp.dates.add(fp.published)
            except ValueError:
                pass
    body = _TIME_OR_PHONE.sub(" ", _mask(body, date_spans))
    for match in _SAMPLE.finditer(body):
        value = parse_number(match.group(1) or match.group(2), language)
        if value and number_weight(value):
            fp.sample_sizes.add(value)
    for match in _NUMBER.finditer(body):
        value = parse_number(match.group(1), language)
        if value is None or (value.is_integer() and 1900 <= value <= 2100):
            continue
        weight = number_weight(value)
        if weight:
            fp.numbers[value] = max(weight, fp.numbers.get(value, 0.0))
    for pattern in PERSON_PATTERNS:
        for match in pattern.finditer(body):
            surname = _fold(re.sub(r"['’]s$", "", match.group(1).split()[-1]))
            if len(surname) > 2 and surname not in STOP_ENTITIES and surname not in _GENERIC_NAME_WORDS:
                fp.researchers.add(surname)
    for match in _INSTITUTION.finditer(body):
        fp.institutions |= _name_keys(next(g for g in match.groups() if g))
    fp.entities = _entities(body, language, fp.researchers | fp.institutions)
    return fp


# --- pair features ---------------------------------------------------------------------------

FEATURES = (
    "cosine", "registry_match", "registry_conflict", "doi_match", "journal_match",
    "journal_conflict", "meeting_match", "date_close", "date_far", "sample_match", "sample_conflict",
    "numbers_shared", "researcher_match", "institution_match", "entities_shared",
)
CLOSE_DAYS = 14
FAR_DAYS = 365
SAMPLE_SLACK = 0.03
SAMPLE_CONFLICT = 0.3
"""Sample sizes conflict when no two are within 30% of each other."""


def _date_gap(a: StudyFingerprint, b: StudyFingerprint) -> float | None:
    """Smallest gap in days between a date of ``a`` and one of ``b`` (month precision when only months are known).

    Only datelines count as evidence against: a page may also cite dates of earlier events."""
    if a.published and b.published:
        return float(abs((a.published - b.published).days))
    if a.dates and b.dates:
        return float(min(abs((x - y).days) for x in a.dates for y in b.dates))
    if a.months and b.months:
        return float(min(abs((x[0] - y[0]) * 12 + x[1] - y[1]) for x in a.months for y in b.months) * 30)
    return None


def _close(x: float, y: float, tolerance: float) -> bool:
    return abs(x - y) <= tolerance * max(x, y)


def _sample_match(a: set[float], b: set[float]) -> float:
    """Weight of the most telling sample size the pages share (news rounds "205 women" to "about 200": 3% slack)."""
    return max((number_weight(min(x, y)) for x in a for y in b if _close(x, y, SAMPLE_SLACK)), default=0.0)


def pair_features(a: StudyFingerprint, b: StudyFingerprint, cosine: float, cosine_offset: float = 0.0) -> np.ndarray:
    """The :data:`FEATURES` vector of two fingerprints and their embedding cosine.

    ``cosine_offset`` is added to the cosine of pages in different languages: the multilingual embedding
    puts a page and its translation further apart than two pages in one language.
    """
    shared_numbers = sum(min(a.numbers[x], b.numbers[x]) for x in a.numbers.keys() & b.numbers.keys())
    gap = _date_gap(a, b)
    sample_match = _sample_match(a.sample_sizes, b.sample_sizes)
    registry_match, journal_match = bool(a.registry_ids & b.registry_ids), bool(journals_match(a.journals, b.journals))
    values = {
        "cosine": cosine + (cosine_offset if a.language != b.language else 0.0),
        "registry_match": float(registry_match),
        "registry_conflict": float(bool(a.registry_ids and b.registry_ids) and not registry_match),
        "doi_match": float(bool(a.dois & b.dois)),
        "journal_match": float(journal_match),
        "journal_conflict": float(bool(a.journals and b.journals) and not journal_match),
        "meeting_match": float(bool(a.meetings & b.meetings)),
        "date_close": float(gap is not None and gap <= CLOSE_DAYS),
        "date_far": float(bool(a.published and b.published) and gap > FAR_DAYS),
        "sample_match": sample_match,
        "sample_conflict": float(bool(a.sample_sizes and b.sample_sizes) and not any(
            _close(x, y, SAMPLE_CONFLICT) for x in a.sample_sizes for y in b.sample_sizes)),
        "numbers_shared": math.log1p(shared_numbers),
        "researcher_match": math.log1p(len(a.researchers & b.researchers)),
        "institution_match": float(bool(a.institutions & b.institutions)),
        "entities_shared": math.log1p(len(a.entities & b.entities)),
    }
    return np.array([values[name] for name in FEATURES], dtype=float)


def shared_evidence(a: StudyFingerprint, b: StudyFingerprint) -> dict:
    """What two fingerprints have in common, for explaining a link."""
    shared = {
        "registry_ids": sorted(a.registry_ids & b.registry_ids), "dois": sorted(a.dois & b.dois),
        "journals": sorted(a.journals & b.journals), "meetings": sorted(a.meetings & b.meetings),
        "sample_sizes": sorted(_plain_number(x) for x in a.sample_sizes for y in b.sample_sizes if _close(x, y, SAMPLE_SLACK)),
        "numbers": sorted(_plain_number(x) for x in a.numbers.keys() & b.numbers.keys() if a.numbers[x] >= 0.6),
        "researchers": sorted(a.researchers & b.researchers), "institutions": sorted(a.institutions & b.institutions),
    }
    return {key: value for key, value in shared.items() if value}


# --- the linker ------------------------------------------------------------------------------


class StudyLinker:
    """Probability that two pages report the same study, and grouping of many pages (scikit-learn style).

    ``fit(X, y)`` fits a logistic regression on :func:`pair_features` rows (``y`` = same study);
    ``predict_proba(X)``/``predict(X)`` score pairs; :meth:`group` links a whole set of pages.
    ``linkage="single"`` joins two groups when any pair links; ``"average"`` when their pages link on average.
    """

    def __init__(self, threshold: float = 0.5, linkage: str = "average", C: float = 1.0, cosine_offset: float = 0.0):
        self.threshold = threshold
        self.linkage = linkage
        self.C = C
        self.cosine_offset = cosine_offset

    def fit(self, X: np.ndarray, y: np.ndarray) -> "StudyLinker":
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=float)
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000)
        model.fit((X - self.mean_) / self.scale_, np.asarray(y, dtype=int))
        self.coef_, self.intercept_ = model.coef_[0], float(model.intercept_[0])
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, dtype=float) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(same study) per pair row (one column, not scikit-learn's two)."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X) >= self.threshold

    # persistence ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "threshold": self.threshold, "linkage": self.linkage, "C": self.C,
                "cosine_offset": self.cosine_offset,
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, data: dict) -> "StudyLinker":
        if list(data.get("features", [])) != list(FEATURES):
            raise PagetagError("the lineage model was fitted on other features: re-run benchmarks/lineage.py --write-model")
        linker = cls(threshold=data["threshold"], linkage=data["linkage"], C=data["C"],
                     cosine_offset=data["cosine_offset"])
        linker.mean_, linker.scale_ = np.array(data["mean"]), np.array(data["scale"])
        linker.coef_, linker.intercept_ = np.array(data["coef"]), float(data["intercept"])
        return linker

    @classmethod
    def load(cls, path: str | Path = DEFAULT_LINKER_PATH) -> "StudyLinker":
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise PagetagError(f"cannot read the lineage model {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError) as exc:
            raise PagetagError(f"{path} is not a lineage model ({exc})") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    # grouping ---------------------------------------------------------------------------------

    def score_pairs(self, fingerprints: list[StudyFingerprint], vectors: np.ndarray) -> dict[tuple[int, int], float]:
        """P(same study) for every candidate pair: pages sharing a fingerprint key or among embedding neighbours."""
        pairs = candidate_pairs(fingerprints, vectors)
        if not pairs:
            return {}
        rows = np.array([pair_features(fingerprints[i], fingerprints[j], float(vectors[i] @ vectors[j]),
                                       self.cosine_offset) for i, j in pairs])
        return dict(zip(pairs, self.predict_proba(rows).tolist()))

    def group(self, fingerprints: list[StudyFingerprint], vectors: np.ndarray) -> tuple[list[list[int]], dict]:
        """Groups of page indices (each page in exactly one group, input order kept) and the pair scores."""
        scores = self.score_pairs(fingerprints, vectors)
        return cluster(len(fingerprints), scores, self.threshold, self.linkage), scores


def candidate_pairs(fingerprints: list[StudyFingerprint], vectors: np.ndarray,
                    neighbours: int = CANDIDATE_NEIGHBOURS) -> list[tuple[int, int]]:
    """Pairs worth scoring: those sharing a blocking key, plus each page's nearest embedding neighbours."""
    n = len(fingerprints)
    pairs = set()
    index = defaultdict(list)
    for i, fp in enumerate(fingerprints):
        for key in fp.keys():
            index[key].append(i)
    for members in index.values():
        if len(members) <= MAX_KEY_PAGES:
            pairs.update(itertools.combinations(members, 2))
    if n > 1:
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        k = min(neighbours, n - 1)
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        pairs.update((min(i, int(j)), max(i, int(j))) for i in range(n) for j in nearest[i])
    return sorted(pairs)


def cluster(n: int, scores: dict[tuple[int, int], float], threshold: float, linkage: str) -> list[list[int]]:
    """Agglomerate pages whose pair scores reach ``threshold`` (unscored pairs count as 0)."""
    if linkage not in ("single", "average"):
        raise ValueError(f"linkage must be 'single' or 'average', not {linkage!r}")
    groups = {i: [i] for i in range(n)}
    owner = list(range(n))
    for (i, j), score in sorted(scores.items(), key=lambda item: -item[1]):
        if score < threshold:
            break
        gi, gj = owner[i], owner[j]
        if gi == gj:
            continue
        if linkage == "average":
            total = sum(scores.get((min(a, b), max(a, b)), 0.0) for a in groups[gi] for b in groups[gj])
            if total / (len(groups[gi]) * len(groups[gj])) < threshold:
                continue
        groups[gi].extend(groups.pop(gj))
        for member in groups[gi]:
            owner[member] = gi
    return sorted((sorted(members) for members in groups.values()), key=lambda members: members[0])


# --- roles and claims ------------------------------------------------------------------------


def role_rank(source_type: str | None) -> int:
    """Position of a source type in the chain: scientific 0, press release 1, news 2, blog/SEO/commercial 3, other 4."""
    if source_type in ROLE_ORDER[:3]:
        return ROLE_ORDER.index(source_type)
    return 3 if source_type in ROLE_ORDER else 4


def strongest_claim(claims) -> dict | None:
    """The strongest of a page's ``claims`` (direct causal > conditional causal > correlational, best score
    first); a sentence of no relation is not a claim."""
    from pipeline.claims import STRENGTHS  # weakest first

    ranked = [c for c in claims or [] if isinstance(c, dict) and c.get("strength") in STRENGTHS[1:]]
    if not ranked:
        return None
    return max(ranked, key=lambda c: (STRENGTHS.index(c["strength"]), float(c.get("score") or 0.0)))


# --- `pagetag link`: read, classify, group, print --------------------------------------------


@dataclass
class LinkedPage:
    """One page to link: its clean text, labels (source type, evidence level...) and claims when known."""

    input: str
    title: str | None
    language: str
    text: str
    labels: dict = field(default_factory=dict)
    claims: list | None = None


def read_records(path: str) -> list[dict] | None:
    """The records of a JSON-lines file from an earlier ``pagetag classify/clean --json`` run, or None if ``path``
    is not such a file. Each record needs an ``input`` (re-read) or a ``text``."""
    candidate = Path(path)
    if path == "-" or "://" in path or not candidate.is_file():
        return None
    try:
        with candidate.open("rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return None
    if not head.startswith(b"{"):
        return None
    records = []
    for number, line in enumerate(candidate.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise PagetagError(f"{path}: line {number} is not JSON (expected `pagetag classify --json` output)") from None
        if not isinstance(record, dict) or not (record.get("input") or record.get("text")):
            raise PagetagError(f"{path}: line {number} has neither an \"input\" nor a \"text\"")
        records.append(record)
    return records


def collect_pages(sources: list[str], *, engine, model_dir=None,
                  progress: bool = False) -> tuple[list[LinkedPage], list[tuple[str, str]]]:
    """Read every input (URLs, files, records of an earlier run) and classify the pages that have no labels.

    Pages are read and cleaned by ``engine`` (:func:`pipeline.engines.open_engine`). Returns the pages in
    input order and the ``(input, one-line error)`` of every input that failed.
    """
    from pipeline.classify import classify_batch
    from pipeline.clean import clean_page
    from pipeline.engines import PageOutcome, in_input_order, run_engine
    from pipeline.fetch import Page

    items: list[tuple[str, dict | None]] = []  # (source to read or record input, record)
    errors: list[tuple[str, str]] = []
    for source in sources:
        try:
            records = read_records(source)
        except PagetagError as exc:
            errors.append((source, str(exc).removeprefix(f"{source}: ")))
            continue
        if records is None:
            items.append((source, None))
        for record in records or []:
            if record.get("error"):
                errors.append((record.get("input") or source, record["error"]))
            else:
                items.append((record.get("input") or f"{source}:{len(items) + 1}", record))
    from tqdm import tqdm

    to_read = [name for name, record in items if not (record and record.get("text"))]
    outcomes = {}
    read = in_input_order(run_engine(engine, to_read))
    for outcome in tqdm(read, total=len(to_read), unit="page", desc="read+clean", disable=not progress, leave=False):
        outcomes.setdefault(outcome.input, outcome)
    ordered = []
    for name, record in items:
        if record and record.get("text"):
            try:
                page = clean_page(Page(input=name, url=None, html=None, text=record["text"]))
                ordered.append((PageOutcome(name, page=page), record))
            except PagetagError as exc:
                ordered.append((PageOutcome(name, error=str(exc)), record))
        else:
            ordered.append((outcomes[name], record))
    unlabelled = [o for o, record in ordered if o.error is None and not (record and record.get("labels"))]
    if unlabelled:
        from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

        classify_batch(Predictor(model_dir or DEFAULT_MODEL_DIR), unlabelled)
    pages = []
    for outcome, record in ordered:
        if outcome.error is not None:
            errors.append((outcome.input, outcome.error))
            continue
        prediction = outcome.prediction or {}
        claims = (record or {}).get("claims", prediction.get("claims"))
        pages.append(LinkedPage(input=outcome.input, title=outcome.page.title or (record or {}).get("title"),
                                language=outcome.page.language, text=outcome.page.text,
                                labels=(record or {}).get("labels") or prediction.get("labels", {}), claims=claims))
    return pages, errors


def embed_pages(pages: list[LinkedPage]) -> np.ndarray:
    """Unit vectors of the pages' first :data:`EMBED_CHARS` characters (built-in multilingual embedder, numpy only)."""
    from pipeline.embed import load_embedder

    if not pages:
        return np.zeros((0, 512), dtype=np.float32)
    return load_embedder("usem3-static", direct=True).encode([p.text[:EMBED_CHARS] for p in pages])


def _label(page: LinkedPage, head: str) -> dict:
    value = page.labels.get(head) or {}
    return {"label": value.get("label"), "score": value.get("score")}


def link_groups(pages: list[LinkedPage], linker: StudyLinker, progress: bool = False) -> list[dict]:
    """Group ``pages`` and describe each group: its pages by role, what identifies the study, the links."""
    from tqdm import tqdm

    fingerprints = [fingerprint(p.text, p.language, p.input)
                    for p in tqdm(pages, unit="page", desc="fingerprint", disable=not progress, leave=False)]
    groups, scores = linker.group(fingerprints, embed_pages(pages))
    described = []
    for members in groups:
        members = sorted(members, key=lambda i: (role_rank(_label(pages[i], "source_type")["label"]), i))
        summaries = {i: fingerprints[i].summary() for i in members}
        links = [{"a": pages[i].input, "b": pages[j].input, "score": round(scores[(min(i, j), max(i, j))], 3),
                  "shared": shared_evidence(fingerprints[i], fingerprints[j])}
                 for i, j in itertools.combinations(members, 2)
                 if scores.get((min(i, j), max(i, j)), 0.0) >= linker.threshold]
        described.append({
            "pages": [{"input": pages[i].input, "title": pages[i].title, "language": pages[i].language,
                       "source_type": _label(pages[i], "source_type"), "evidence_level": _label(pages[i], "evidence_level"),
                       "strongest_claim": strongest_claim(pages[i].claims), "fingerprint": summaries[i]}
                      for i in members],
            "study": _common(summaries.values()) if len(members) > 1 else {},
            "links": links,
        })
    described.sort(key=lambda g: -len(g["pages"]))
    for number, group in enumerate(described, 1):
        group["group"] = number
    return [{"group": g["group"], **{k: v for k, v in g.items() if k != "group"}} for g in described]


def _common(summaries) -> dict:
    """The fingerprint values (of :meth:`StudyFingerprint.summary`) that at least two pages of a group share; a
    single value (the publication date, or None) counts as a list of one."""
    counts = defaultdict(lambda: defaultdict(int))
    for summary in summaries:
        for key, values in summary.items():
            if not isinstance(values, list):
                values = [] if values is None else [values]
            for value in values:
                counts[key][value] += 1
    return {key: sorted(v for v, n in values.items() if n > 1) for key, values in counts.items()
            if any(n > 1 for n in values.values())}


def group_lines(group: dict, width: int = 110) -> list[str]:
    """A group as readable lines: a header with what identifies the study, then one line per page in role order."""
    from pipeline.classify import shorten
    study = group["study"]
    facts = [*study.get("registry_ids", []), *study.get("journals", []), *study.get("meetings", []),
             *(f"n={n}" for n in study.get("sample_sizes", [])), *study.get("dates", [])[:1],
             *study.get("researchers", [])[:3]]
    size = len(group["pages"])
    header = f"group {group['group']} · " + (f"{size} pages" if size > 1 else "1 page, linked to no other input")
    lines = [shorten(header + (" · " + " · ".join(map(str, facts)) if facts else ""), width)]
    for page in group["pages"]:
        source, evidence = page["source_type"], page["evidence_level"]
        role = f"{source['label'] or '?'} {source['score']:.2f}" if source["score"] is not None else source["label"] or "?"
        level = f"{evidence['label'] or '?'} {evidence['score']:.2f}" if evidence["score"] is not None else evidence["label"] or "?"
        lines.append(shorten(f"  {role:<20} {level:<24} {page['language']:<4} {page['input']}", width))
        claim = page["strongest_claim"]
        if claim:
            lines.append(shorten(f"      strongest claim ({claim['strength']}): {claim.get('sentence', '')}", width))
    return lines
