"""Page evidence: what is around the main text of an HTML page, as language-neutral numeric features.

A person tells a press release from a news report or a shop page mostly from the page's furniture: the
URL path (``/presse/``, ``/blog/``, ``/forum/``, ``/shop/``), the site's name and kind, ``og:type`` and
schema.org types, bylines and datelines, press-contact blocks, price and cart markup, comment threads,
breadcrumbs. :func:`page_evidence` reads these from a parsed page in one pass over its elements.

Every feature is listed in :data:`FEATURE_DOCS` with one line saying what it measures. Cue words cover
English, French, German, Spanish and Italian. A page without HTML (plain text, stdin) has every feature
at 0, ``page_present`` included, so a model trained with the block randomly dropped still works on text.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from urllib.parse import urlsplit

# Kinds of page named by words in the URL path, in the host or site name, and in breadcrumb/nav labels.
KIND_CUES = {
    "press": r"press|presse|pressemitteilung\w*|medienmitteilung\w*|pressemeldung\w*|medieninformation\w*"
             r"|communiqu\w*|comunicad\w*|comunicat\w*|newsroom|media[-_ ]?releases?|news[-_ ]?releases?|mediacenter"
             r"|pressroom|pressebereich|sala[-_ ]de[-_ ]prensa|ufficio[-_ ]stampa",
    "blog": r"blogs?|blogspot|wordpress|weblog|substack|medium|tumblr|author|autor|auteur|posts?|tagebuch",
    "forum": r"forums?|foren|threads?|topics?|viewtopic|showthread|questions?|answers?|fragen|community"
             r"|discussions?|diskussion\w*|boards?|stackexchange|stackoverflow|reddit|gutefrage|doctissimo|quora",
    "shop": r"shop\w*|store|produkte?|products?|boutique|cart|warenkorb|panier|kaufen|bestellen|buy|tienda|negozio"
            r"|angebote?|offers?|checkout|amazon|ebay|apotheke|pharmacie|pharmacy|farmacia|preise?|prix|pricing",
    "reference": r"wiki\w*|ratgeber|lexikon|glossar\w*|glossary|faqs?|guides?|definitions?|encyclop\w*|enzyklop\w*"
                 r"|krankheiten|maladies|conditions|health[-_ ]?topics|themen|dossiers?|patienteninformation\w*"
                 r"|fiches?|infos?|wissen|how[-_ ]?to",
    "news": r"news|nachrichten|actualit\w*|aktuell\w*|noticias?|notizie|cronaca|artikel|articles?|story|stories"
            r"|politik|politique|wirtschaft|panorama|meldung\w*|zeitung|journal|times|tribune|herald|daily|presse?\w*"
            r"|gazette|courier|kurier|tagblatt|rundschau|anzeiger|morgenpost|nouvelles|reuters|magazin\w*|magazine",
    "science": r"doi|abstracts?|pubmed|pmc|fulltext|journals?|springer|sciencedirect|elsevier|wiley|nature"
               r"|frontiersin|plos\w*|mdpi|bmj|thelancet|jamanetwork|biorxiv|medrxiv|arxiv|ncbi|cochrane"
               r"|studien?|research|forschung|recherche",
    "gov": r"gov|gouv|govt|admin|bund|bundesregierung|ministerium|ministere|ministerio|ministero|europa|who"
           r"|landkreis|kanton|stadt|gemeinde|mairie|prefecture|regierung|beh[oö]rde",
    "edu": r"edu|uni|univ\w*|universit\w*|hochschule|college|ac|institut\w*|inserm|cnrs|charite|klinikum|hospital"
           r"|hopital|krankenhaus|spital|ospedale",
    "clinic": r"klinik\w*|clinic\w*|clinique|praxis|cabinet|centre[-_ ]?medical|medical|arzt|aerzte|doctor|zahnarzt"
              r"|therap\w*|physio\w*|spa|wellness|beauty|kosmetik|heilpraktiker",
}
_KIND_RE = {kind: re.compile(r"(?<![a-z])(?:" + rx + r")(?![a-z])") for kind, rx in KIND_CUES.items()}
_URL_DATE = re.compile(r"/(?:19|20)\d\d/(?:[01]?\d/)?|[-_/](?:19|20)\d\d[-_/]?[01]\d[-_/]?[0-3]\d")
_URL_LONG_ID = re.compile(r"\d{5,}")

SCHEMA_GROUPS = {
    "news": {"NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
             "BackgroundNewsArticle", "LiveBlogPosting", "NewsMediaOrganization"},
    "blog": {"BlogPosting", "Blog", "SocialMediaPosting"},
    "article": {"Article", "TechArticle", "Report"},
    "product": {"Product", "Offer", "AggregateOffer", "Store", "OnlineStore", "ProductGroup", "IndividualProduct"},
    "business": {"LocalBusiness", "MedicalBusiness", "MedicalClinic", "MedicalOrganization", "Physician", "Dentist",
                 "Pharmacy", "Hospital", "HealthAndBeautyBusiness", "ProfessionalService", "Corporation"},
    "medical": {"MedicalWebPage", "MedicalCondition", "Drug", "MedicalEntity", "HealthTopicContent",
                "MedicalTherapy", "MedicalProcedure"},
    "forum": {"DiscussionForumPosting", "QAPage", "Question", "Answer", "Comment"},
    "faq": {"FAQPage", "HowTo", "HowToStep"},
    "scholarly": {"ScholarlyArticle", "MedicalScholarlyArticle", "Dataset", "Periodical", "PublicationIssue"},
    "other": {"Recipe", "Event", "Review", "Movie", "Book", "MusicRecording", "JobPosting", "Legislation"},
    "person": {"Person", "ProfilePage"},
    "gov": {"GovernmentOrganization", "GovernmentService", "CollegeOrUniversity", "EducationalOrganization"},
}
OG_TYPES = ("article", "website", "product", "blog", "profile")

# class/id tokens of the page's elements
CLASS_CUES = {
    "comment": r"comments?|kommentar\w*|commentaires?|commenti|comentarios?|reply|replies|antwort\w*|respond|disqus",
    "price": r"price|prices|preis\w*|prix|precio|prezzo|cart|basket|warenkorb|panier|checkout|add[-_]?to[-_]?cart"
             r"|buy|kaufen|product|produkt|sku|shop",
    "share": r"share|sharing|social|teilen|partag\w*|shariff",
    "related": r"related|teaser\w*|recommend\w*|more[-_]?(?:articles|stories|news)|lesen[-_]?sie|also|similar"
               r"|weitere|autres|outbrain|taboola",
    "author": r"author|authors|byline|autor\w*|auteur\w*|writer|journalist",
    "forum": r"thread|topic|forum|postbody|post[-_]?reply|bbcode|message[-_]?body|quote|signature|user[-_]?info",
    "breadcrumb": r"breadcrumbs?|brotkrumen|fil[-_]?d[-_]?ariane",
    "newsletter": r"newsletter|subscribe|abonn\w*|signup",
    "sidebar": r"sidebar|widget|aside",
    "ad": r"ad|ads|advert\w*|anzeige|werbung|sponsor\w*|promo\w*",
}
_CLASS_RE = {kind: re.compile(r"(?:" + rx + r")") for kind, rx in CLASS_CUES.items()}
_CLASS_SPLIT = re.compile(r"[\s_-]+")

# phrases (1-3 words, lower case) counted in the whole page's visible text, not only the main text
TEXT_CUES = {
    "press_contact": ("pressekontakt", "presse kontakt", "medienkontakt", "media contact", "media contacts",
                      "press contact", "press contacts", "contact presse", "contacts presse", "relations presse",
                      "contacto de prensa", "ufficio stampa", "pressestelle", "press office", "service de presse"),
    "about_us": ("about us", "über uns", "ueber uns", "qui sommes nous", "à propos de nous", "chi siamo",
                 "quiénes somos", "sobre nosotros", "wir über uns"),
    "cart": ("warenkorb", "add to cart", "add to basket", "ajouter au panier", "panier", "carrito", "carrello",
             "jetzt kaufen", "buy now", "zur kasse", "checkout", "versandkostenfrei", "free shipping",
             "livraison gratuite", "inkl mwst", "zzgl versand", "ttc", "in stock", "auf lager", "en stock"),
    "reply": ("reply", "antworten", "répondre", "rispondi", "responder", "zitieren", "quote", "beiträge",
              "registriert seit", "membre depuis", "member since", "mitglied seit"),
    "leave_comment": ("leave a reply", "leave a comment", "kommentar schreiben", "kommentar verfassen",
                      "kommentar hinterlassen", "laisser un commentaire", "lascia un commento", "deja un comentario",
                      "write a comment", "post a comment", "kommentare", "commentaires", "comments"),
    "appointment": ("termin vereinbaren", "termin buchen", "prendre rendez vous", "book an appointment",
                    "book appointment", "pedir cita", "prenota una visita", "sprechstunde", "sprechzeiten",
                    "consultation", "rendez vous"),
}
_PHRASES = {kind: {tuple(phrase.split()) for phrase in phrases} for kind, phrases in TEXT_CUES.items()}
_WORD = re.compile(r"\w+")
# literal-anchored patterns (fast scans): prices, international phone numbers, e-mail addresses
COUNT_CUES = {"prices": r"(?:[€$£]|EUR|CHF)(?= ?\d)|(?<=\d)(?:[€$£]|EUR|CHF)|(?<=\d )(?:[€$£]|EUR|CHF)",
              "phones": r"\+\d\d[\d /().-]{7,16}\d",
              "emails": r"@[\w-]+\.[a-z]{2,}"}
_COUNT_RE = {kind: re.compile(rx) for kind, rx in COUNT_CUES.items()}
_LD_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')

MAX_ELEMENTS = 20_000  # bound the work on huge pages
MAX_TEXT = 200_000
CUE_TEXT_CHARS = 16_000  # phrase cues read the start and the end of long pages


def _feature_docs() -> dict[str, str]:
    docs = {"page_present": "1 when the input was an HTML page (all page features are 0 for plain text)"}
    for kind in KIND_CUES:
        docs[f"url_{kind}"] = f"URL path has a '{kind}' word (e.g. {KIND_CUES[kind].split('|')[0]})"
        docs[f"site_{kind}"] = f"host name or og:site_name has a '{kind}' word"
        docs[f"nav_{kind}"] = f"breadcrumb or navigation labels have a '{kind}' word"
    docs.update({
        "url_date": "URL path holds a date (/2021/05/, -20210514-): a CMS article",
        "url_long_id": "URL holds a numeric id of five or more digits",
        "url_depth": "log1p number of path segments",
        "url_root": "URL is a site's home page (empty path)",
    })
    for group in SCHEMA_GROUPS:
        docs[f"schema_{group}"] = f"schema.org type among {', '.join(sorted(SCHEMA_GROUPS[group]))[:80]}"
    for og in OG_TYPES:
        docs[f"og_{og}"] = f"og:type says '{og}'"
    docs.update({
        "meta_published": "an article:published_time / datePublished / pubdate meta or <time> element",
        "meta_author": "an author meta (name=author, article:author, rel=author, itemprop=author)",
        "meta_section": "an article:section meta",
        "meta_citation": "scholarly citation_* / DC.identifier metas (journal pages)",
        "meta_price": "itemprop=price / product:price metas",
    })
    for kind in CLASS_CUES:
        docs[f"class_{kind}"] = f"log1p elements whose class/id names '{kind}'"
    docs.update({
        "n_forms": "log1p <form> elements",
        "n_inputs": "log1p <input>/<textarea>/<select> elements",
        "n_buttons": "log1p <button> elements",
        "n_links": "log1p <a> elements",
        "n_images": "log1p <img> elements",
        "n_headings": "log1p <h1>-<h6> elements",
        "n_list_items": "log1p <li> elements",
        "link_density": "share of the page's visible text inside links",
        "n_text_chars": "log1p visible text characters of the whole page",
    })
    for kind in (*TEXT_CUES, *COUNT_CUES):
        docs[f"text_{kind}"] = f"log1p '{kind.replace('_', ' ')}' matches in the page's visible text"
    return docs


FEATURE_DOCS = _feature_docs()
FEATURE_NAMES = tuple(f"page_{name}" if not name.startswith("page_") else name for name in FEATURE_DOCS)


def absent() -> dict[str, float]:
    """The feature block of an input without HTML: every feature 0."""
    return dict.fromkeys(FEATURE_NAMES, 0.0)


def _kinds(text: str) -> set[str]:
    text = text.lower()
    return {kind for kind, rx in _KIND_RE.items() if rx.search(text)}


def _log(n: float) -> float:
    return math.log1p(n)


def page_evidence(tree, url: str | None = None) -> dict[str, float]:
    """Page-evidence features of a parsed page (an lxml element tree) and its URL, in :data:`FEATURE_NAMES`."""
    out = {"page_present": 1.0}
    path, host = "", ""
    if url and url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        path, host = f"{parts.path} {parts.query}", (parts.hostname or "")
    metas, schema_types, ld_json, nav_text = {}, set(), [], []
    counts, class_names = Counter(), []
    for n, element in enumerate(tree.iter()):
        if n >= MAX_ELEMENTS:
            break
        tag = element.tag if isinstance(element.tag, str) else ""
        counts[tag] += 1
        get = element.get
        if tag == "meta":
            key = (get("property") or get("name") or get("itemprop") or "").lower()
            if key:
                metas[key] = get("content") or ""
            continue
        if tag == "script":
            if (get("type") or "").lower() == "application/ld+json":
                ld_json.append(element.text or "")
            continue
        names = f"{get('class') or ''} {get('id') or ''}"
        class_names.append(names)
        prop = get("itemprop")
        if prop in ("author", "price", "datePublished"):
            metas.setdefault(prop.lower(), "1")
        if get("itemtype"):
            schema_types.add(get("itemtype").rstrip("/").rsplit("/", 1)[-1])
        if get("rel") == "author":
            metas.setdefault("author", "1")
        if tag == "nav" or "crumb" in names.lower():
            if len(nav_text) < 20:
                nav_text.append(" ".join(element.itertext())[:500])
    class_tokens = Counter(_CLASS_SPLIT.split(" ".join(class_names).lower()))
    classes = dict.fromkeys(CLASS_CUES, 0)
    for token, count in class_tokens.items():
        for kind, rx in _CLASS_RE.items():
            if rx.fullmatch(token):
                classes[kind] += count
    for raw in ld_json:
        for match in _LD_TYPE.finditer(raw):
            try:
                value = json.loads(match.group(1))
            except ValueError:
                continue
            schema_types.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    site = f"{host} {metas.get('og:site_name', '')} {metas.get('application-name', '')}"
    for field, text in (("url", path), ("site", site), ("nav", " ".join(nav_text)[:5000])):
        found = _kinds(text)
        for kind in KIND_CUES:
            out[f"page_{field}_{kind}"] = float(kind in found)
    segments = [s for s in path.split(" ")[0].split("/") if s]
    out["page_url_date"] = float(bool(_URL_DATE.search(path)))
    out["page_url_long_id"] = float(bool(_URL_LONG_ID.search(path)))
    out["page_url_depth"] = _log(len(segments))
    out["page_url_root"] = float(bool(host) and not segments)
    for group, types in SCHEMA_GROUPS.items():
        out[f"page_schema_{group}"] = float(bool(schema_types & types))
    og_type = metas.get("og:type", "").lower()
    for og in OG_TYPES:
        out[f"page_og_{og}"] = float(og in og_type)
    out["page_meta_published"] = float(any(k in metas for k in ("article:published_time", "datepublished",
                                                                 "pubdate", "date", "dc.date")) or counts["time"] > 0)
    out["page_meta_author"] = float(any(k in metas for k in ("author", "article:author", "dc.creator")))
    out["page_meta_section"] = float("article:section" in metas)
    out["page_meta_citation"] = float(any(k.startswith(("citation_", "dc.identifier", "prism.")) for k in metas))
    out["page_meta_price"] = float(any(k in metas for k in ("price", "product:price:amount", "og:price:amount")))
    for kind, count in classes.items():
        out[f"page_class_{kind}"] = _log(count)
    out["page_n_forms"] = _log(counts["form"])
    out["page_n_inputs"] = _log(counts["input"] + counts["textarea"] + counts["select"])
    out["page_n_buttons"] = _log(counts["button"])
    out["page_n_links"] = _log(counts["a"])
    out["page_n_images"] = _log(counts["img"])
    out["page_n_headings"] = _log(sum(counts[f"h{level}"] for level in range(1, 7)))
    out["page_n_list_items"] = _log(counts["li"])
    text, link_chars = _visible_text(tree)
    out["page_link_density"] = link_chars / max(len(text), 1)
    out["page_n_text_chars"] = _log(len(text))
    cue_text = text if len(text) <= CUE_TEXT_CHARS else text[:CUE_TEXT_CHARS // 2] + text[-CUE_TEXT_CHARS // 2:]
    words = _WORD.findall(cue_text.lower())
    ngrams = Counter(words)
    ngrams.update(zip(words, words[1:]))
    ngrams.update(zip(words, words[1:], words[2:]))
    for kind, phrases in _PHRASES.items():
        out[f"page_text_{kind}"] = _log(sum(ngrams[p[0] if len(p) == 1 else p] for p in phrases))
    for kind, rx in _COUNT_RE.items():
        out[f"page_text_{kind}"] = _log(len(rx.findall(cue_text)))
    return {name: out[name] for name in FEATURE_NAMES}


_SCRIPT_TEXT = "//body//script/text() | //body//style/text() | //body//noscript/text()"


def _visible_text(tree) -> tuple[str, int]:
    """The page's body text (up to :data:`MAX_TEXT` characters) and how many of its characters sit in links.

    One C-level string() over the body (script and style texts are subtracted from the length only:
    phrase cues never match code in practice, and walking text nodes in Python would cost as much as
    the extraction itself).
    """
    body = tree.xpath("string(//body)") or tree.xpath("string(/*)")
    text = " ".join(body[:MAX_TEXT].split())
    code_chars = sum(len(t) for t in tree.xpath(_SCRIPT_TEXT))
    link_chars = sum(len(t) for t in tree.xpath("//body//a//text()"))
    return text, min(link_chars, max(len(body) - code_chars, 0))

