"""Claim strength of finding sentences, and exaggeration flags (numpy only at classify time).

Three cheap steps:

1. :func:`finding_spans`: the sentences of a page that state a finding (a result, or a health effect
   stated as fact or possibility), found by a multilingual cue lexicon and the sentence's shape;
2. :class:`ClaimModel`: each finding sentence's strength, ``no_relation`` / ``correlational`` /
   ``conditional_causal`` / ``direct_causal`` (the scheme of Yu, Li and Wang, EMNLP 2019), from the
   multilingual sentence embedding, language-neutral *concept n-grams* (every cue word of en/fr/de/es/it
   mapped to one concept, e.g. may/pourrait/könnte → ``MAY``) and phrase cues, scored with the plain
   numpy arrays that the ``claims`` stage exported from a scikit-learn logistic regression
   (``models/claims.npz``);
3. :func:`exaggeration_flags`: page-level flags where a claim is stronger than the page's evidence
   level supports (the rule and the evidence it rests on are in :data:`FLAG_RULES`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from pipeline.errors import PagetagError

STRENGTHS = ("no_relation", "correlational", "conditional_causal", "direct_causal")
CORPUS_LABELS = {0: "no_relation", 1: "direct_causal", 2: "conditional_causal", 3: "correlational"}
"""The numeric labels of ``pubmed_causal_language_use.csv`` and their names here."""

_I = re.IGNORECASE | re.UNICODE

# --- concepts: one word, one language-neutral cue ------------------------------------------------

CONCEPTS = {
    "MAY": r"may|might|could|would|pourrait|pourraient|pourra|pourront|k[öo]nnte|k[öo]nnten|d[üu]rfte|d[üu]rften"
           r"|podr[íi]a|podr[íi]an|potrebbe|potrebbero",
    "CAN": r"can|cannot|peut|peuvent|kann|k[öo]nnen|puede|pueden|pu[òo]|possono",
    "SUGGEST": r"suggests?|suggested|suggesting|sugg[èe]re|sugg[èe]rent|sugg[ée]r[ée]e?s?|sugg[ée]rer|deuten|deutet"
               r"|nahe|sugiere|sugieren|suggerisce|suggeriscono",
    "SEEM": r"appears?|appeared|seems?|seemed|semble|semblent|scheint|scheinen|parece|parecen|sembra|sembrano",
    "LIKELY": r"likely|probably|possibly|potentially|potential|probablement|possiblement|potentiel\w*|wahrscheinlich"
              r"|vermutlich|m[öo]glicherweise|potenziell\w*|probablemente|posiblemente|probabilmente|possibilmente",
    "ASSOC": r"associat\w*|associ[ée]\w*|assoziiert\w*|asociad\w*|asociaci\w*|associazion\w*",
    "CORREL": r"correlat\w*|corr[ée]l\w*|korrel\w*|correlaci\w*|correlazion\w*",
    "LINK": r"link\w*|li[ée]e?s?|liens?|verkn[üu]pft|verbunden|vinculad\w*|legat[oiae]",
    "RELATION": r"relat\w*|relation\w*|zusammenhang\w*|zusammenh[äa]ng\w*|relaci\w*|relazion\w*",
    "PREDICT": r"predict\w*|pr[ée]di\w*|prognos\w*|vorhersag\w*|predic\w*",
    "MARKER": r"markers?|marqueurs?|marcador\w*|marcator[ei]|indicators?|indicateurs?|indikator\w*",
    "RISK": r"risks?|risque\w*|risiko\w*|riesgo\w*|rischi\w*|odds|hazard",
    "FACTOR": r"factors?|facteurs?|faktor\w*|fattor\w*|determinants?|d[ée]terminants?|determinant\w*",
    "ROLE": r"roles?|r[ôo]le|rolle|papel|ruolo|contribut\w*|contribu\w*|beitrag\w*|beitragen|tr[äa]gt",
    "EFFECT": r"effects?|effets?|wirkung\w*|effekt\w*|efecto\w*|effett\w*|impacts?|influence\w*|einfluss",
    "EFFECTIVE": r"effective\w*|efficacy|efficacious|efficace\w*|efficacit[ée]|wirksam\w*|eficaz\w*|eficacia"
                 r"|efficac\w*"
                 r"|beneficial|b[ée]n[ée]fique\w*|useful|utile\w*|n[üu]tzlich\w*|[úu]til\w*",
    "BENEFIT": r"benefits?|benefited|b[ée]n[ée]fices?|nutzen|vorteil\w*|beneficio\w*|benefici\w*",
    "INCREASE": r"increase[sd]?|increasing|raise[sd]?|elevate[sd]?|boost\w*|enhance[sd]?|enhancing|augment\w*"
                r"|erh[öo]h\w*|steiger\w*|aument\w*|promot\w*|favoris\w*|f[öo]rder\w*",
    "DECREASE": r"decrease[sd]?|decreasing|reduce[sd]?|reducing|lower(?:s|ed|ing)|diminish\w*|attenuat\w*|r[ée]dui\w*"
                r"|r[ée]duction|diminu\w*|abaiss\w*|senk\w*|gesenkt|reduzier\w*|verringer\w*|reduc\w*|disminu\w*"
                r"|ridu\w*",
    "IMPROVE": r"improve[sd]?|improving|improvement\w*|am[ée]lior\w*|verbesser\w*|mejor\w*|miglior\w*",
    "PREVENT": r"prevent\w*|protect\w*|pr[ée]vien\w*|pr[ée]ven\w*|prot[èeé]g\w*|verhinder\w*|vorbeug\w*|sch[üu]tz\w*"
               r"|previen\w*|preven\w*|proteg\w*|protegg\w*",
    "CAUSE": r"caus\w*|induc\w*|trigger\w*|provoqu\w*|provoc\w*|entra[îi]n\w*|verursach\w*|ausl[öo]s\w*|bewirk\w*"
             r"|induz\w*",
    "LEAD": r"leads?|led|results?|resulted|resulting|conduit|f[üu]hrt|f[üu]hren|f[üu]hrte|conduce\w*|porta|portano",
    "TREAT": r"treat\w*|therap\w*|trait\w*|th[ée]rap\w*|behandl\w*|tratamiento\w*|trattament\w*|terapi\w*|cure[sd]?"
             r"|gu[ée]ri\w*|heil\w*|cura\w*",
    "RELIEVE": r"reliev\w*|alleviat\w*|sooth\w*|eas(?:e|es|ed|ing)|soulag\w*|apais\w*|linder\w*|alivi\w*|allevi\w*",
    "FIGHT": r"fight\w*|combat\w*|lutt\w*|bek[äa]mpf\w*|combat\w*|combatt\w*",
    "ALLOW": r"allow\w*|enabl\w*|permet\w*|permett\w*|erm[öo]glich\w*|permit\w*|consent\w*",
    "AFFECT": r"affect\w*|influenc\w*|impacted|impacting|beeinfluss\w*|beeintr[äa]chtig\w*|afect\w*|influy\w*"
              r"|influisc\w*|influenz\w*|modul\w*",
    "HELP": r"help\w*|aide|aident|aider|aid[ée]|hilft|helfen|half|geholfen|ayuda\w*|aiuta\w*|assist\w*",
    "PLAY": r"play|plays|played|playing|joue|jouent|jouer|spielt|spielen|juega\w*|gioca\w*",
    "SUCCESS": r"successful\w*|success|r[ée]ussi\w*|succ[èe]s|erfolgreich\w*|erfolg|exitos\w*|[ée]xito|successo",
    "DO": r"did|does|do|done",
    "WITH": r"with|among|avec|mit|con",
    "BETWEEN": r"between|entre|zwischen|tra|fra",
    "VARY": r"var(?:y|ies|ied|iation|iability)|varie\w*|variier\w*|variab\w*|vari[ao]\w*",
    "MEDIATE": r"mediat\w*|m[ée]di\w*|vermittel\w*|responsible|responsable\w*|verantwortlich|responsabil\w*"
               r"|mechanism\w*|m[ée]canism\w*|mecanism\w*|meccanism\w*",
    "WHO": r"who|whom|whose|qui|welche\w*|quienes|quali",
    "INVESTIGATE": r"investigat\w*|identif\w*|determin\w*|assess\w*|examin\w*|evaluat\w*|explor\w*|[ée]tudier"
                   r"|[ée]valu\w*|examiner|explorer|untersuch\w*|bewert\w*|ermittel\w*|investig\w*|evalu\w*"
                   r"|esplor\w*|valut\w*",
    "WILL": r"will|shall|va|vont|sera|seront|wird|werden|ser[áa]|ser[áa]n|sar[àa]|saranno",
    "IMPLICATION": r"implications?|implication\w*|auswirkung\w*|implicacion\w*|implicazion\w*",
    "NOT": r"not|no|none|neither|nor|without|ne|n|pas|aucun\w*|sans|nicht|kein\w*|ohne|sin|non|senza|nessun\w*",
    "SIGNIF": r"significant\w*|significati\w*|signifikant\w*|significativ\w*|statistically|statistiquement"
              r"|statistisch",
    "SIMILAR": r"similar\w*|comparable|similaire\w*|[äa]hnlich\w*|vergleichbar\w*|simil\w*|differ\w*|diff[ée]r\w*"
               r"|unterschied\w*|diferen\w*|differen\w*",
    "MORE": r"higher|greater|more|increased|plus|h[öo]her\w*|mehr|gr[öo][ßs]er\w*|mayor\w*|m[áa]s|maggior\w*|pi[ùu]",
    "LESS": r"lower|less|fewer|decreased|reduced|moins|niedriger\w*|weniger|geringer\w*|menor\w*|menos|minor\w*|meno",
    "THAN": r"than|que|als|compared|comparison|versus|vs|rapport|vergleich\w*|comparad\w*|rispetto|comparati\w*",
    "IN": r"in|within|parmi|chez|bei|unter",
    "SHOULD": r"should|must|need|needs|needed|warrant\w*|required|recommend\w*|devrai\w*|doit|doivent"
              r"|n[ée]cessaire\w*"
              r"|recommand\w*|sollte\w*|m[üu]ss\w*|notwendig\w*|erforderlich|empfehl\w*|deber[íi]a\w*|debe\w*"
              r"|necesari\w*|recomend\w*|dovrebbe\w*|deve\w*|necessari\w*|raccomand\w*",
    "FURTHER": r"further|future|additional|larger|autres|futures?|davantage|weitere\w*|k[üu]nftig\w*|zuk[üu]nftig\w*"
               r"|futur\w*|adicional\w*|ulterior\w*",
    "STUDY": r"stud(?:y|ies)|trials?|research|[ée]tude\w*|essai\w*|recherche\w*|studie\w*|forschung\w*|estudio\w*"
             r"|ensayo\w*|studi\w*|ricerc\w*",
    "FINDING": r"results?|findings?|data|evidence|r[ée]sultats?|donn[ée]es|ergebnis\w*|daten|befund\w*|resultados?"
               r"|datos|risultat\w*|dati|evidenc\w*",
    "SHOW": r"show\w*|demonstrat\w*|indicat\w*|reveal\w*|confirm\w*|found|montr\w*|d[ée]montr\w*|r[ée]v[ée]l\w*"
            r"|indiqu\w*|zeig\w*|belegt|belegen|best[äa]tig\w*|gefunden|muestr\w*|demuestr\w*|mostr\w*|dimostr\w*",
    "CONCLUDE": r"conclu\w*|schluss\w*|schlussfolger\w*",
    "BE": r"is|are|was|were|be|been|being|est|sont|[ée]tait|[ée]taient|[êe]tre|[ée]t[ée]|ist|sind|war|waren|sein"
          r"|wurde|wurden|es|son|era|fue|fueron|[èe]|sono|erano|stato|stata",
    "HAVE": r"has|have|had|ont|avait|hat|haben|hatte|tiene|tienen|ha|hanno|avuto",
    "SAFE": r"safe|safety|tolerated|feasible|s[ûu]r|s[ée]curit[ée]|tol[ée]r[ée]|faisable|sicher\w*|vertr[äa]glich\w*"
            r"|durchf[üu]hrbar|segur\w*|tolerad\w*|factible|sicur\w*|tollerat\w*|fattibil\w*",
    "PREVALENT": r"prevalen\w*|common|frequent\w*|incidence|rates?|proportion|fr[ée]quent\w*|taux|h[äa]ufig\w*"
                 r"|frecuen\w*|tasa|comune|frequen\w*|tasso",
    "DUE": r"due|because|owing|attributable|d[ûu]|gr[âa]ce|wegen|aufgrund|durch|debido|gracias|dovuto|grazie",
    "WHETHER": r"whether|if|si|ob|wenn|falls|se",
    "THIS": r"this|these|our|ces|cette|nos|notre|diese\w*|unsere\w*|este|estos|esta|nuestro\w*|questo|questi"
            r"|nostr\w*",
    "POLARITY": r"positive\w*|positiv\w*|negative\w*|n[ée]gati\w*|negativ\w*|inverse\w*|invers\w*|independent\w*"
                r"|ind[ée]pendant\w*|unabh[äa]ngig\w*|independient\w*|indipendent\w*",
    "DEPEND": r"depend\w*|d[ée]pend\w*|abh[äa]ng\w*|dipend\w*",
    "IMPORTANT": r"important|key|major|crucial|essential|importante?s?|wichtig\w*|entscheidend\w*|clave|chiave",
}
_CONCEPT = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in CONCEPTS.items()), _I)
_WORD = re.compile(r"\w+", re.UNICODE)  # elisions split: "l'absence" → l, absence; "n'a" → n, a


@functools.lru_cache(maxsize=1 << 16)
def _concept(word: str) -> str | None:
    match = _CONCEPT.fullmatch(word)
    return match.lastgroup if match else None


def concept_sequence(sentence: str) -> list[str | None]:
    """The concept of every word of ``sentence`` (None for a word that is no cue)."""
    return [_concept(word) for word in _WORD.findall(sentence.lower().replace("n't", " not"))]


def concept_grams(sentence: str, max_gap: int) -> set[str]:
    """Concept unigrams, bigrams and trigrams; consecutive concepts at most ``max_gap`` other words apart."""
    sequence = concept_sequence(sentence)
    at = [i for i, concept in enumerate(sequence) if concept]
    grams = {sequence[i] for i in at}
    near = [b - a - 1 <= max_gap for a, b in zip(at, at[1:])]
    grams |= {f"{sequence[a]} {sequence[b]}" for (a, b), ok in zip(zip(at, at[1:]), near) if ok}
    grams |= {f"{sequence[a]} {sequence[b]} {sequence[c]}" for (a, b, c), ok1, ok2
              in zip(zip(at, at[1:], at[2:]), near, near[1:]) if ok1 and ok2}
    return grams


# --- phrase cues: features, finding detection and flags ----------------------------------------

PHRASES = {
    "modal": r"\b(?:may|might|could|would)\b|\bpourr(?:ait|aient|a|ont)\b|\bpeut[- ][êe]tre\b|\bsusceptibles? de\b"
             r"|\bk[öo]nnt(?:e|en)\b|\bd[üu]rft(?:e|en)\b|\bm[öo]glicherweise\b|\bvielleicht\b|\bpodr[íi]an?\b"
             r"|\bpotrebber[oe]\b|\bpuede que\b",
    "hedge": r"\bsuggest\w*|\bappears?\b|\bseems?\b|\bseemed\b|\blikely\b|\bpossibl[ey]\b|\bpotential(?:ly)?\b"
             r"|\bpromising\b|\bsugg[èe]r\w*|\bsembl\w*|\bprobablement\b|\bpotentiel\w*|\bprometteu\w*|\bschein\w*"
             r"|\bdeute\w* (?:darauf )?hin\b|\bvermutlich\b|\bwahrscheinlich\b|\bpotenziell\w*|\bvielversprechend\w*"
             r"|\bsugier\w*|\bparece\w*|\bsuggeris\w*|\bsembr\w*|\bhints?\b|\bpreliminary\b|\bpr[ée]liminaire\w*"
             r"|\bvorl[äa]ufig\w*|\bpreliminar\w*",
    "association": r"\bassociated\b|\bassociations? (?:with|between|of)\b|\bcorrelat\w*|\blinked\b"
                   r"|\blinks? (?:between|to)\b|\brelated to\b|\brelationship\w*"
                   r"|\bassoci[ée]e?s? (?:à|a|au|aux|avec)\b|\bassociation (?:entre|avec)\b|\bcorr[ée]l\w*|\bli[ée]e?s? (?:à|a|au|aux)\b"
                   r"|\blien\w* (?:entre|avec)\b"
                   r"|\bassoziiert\w*|\bassoziation\w*|\bzusammenh[äa]ng\w*|\bkorrel\w*|\bin verbindung\b"
                   r"|\bverkn[üu]pft\w*|\beinher\b|\basociad[oa]s? con\b|\basociaci[óo]n entre\b|\bcorrelaci\w*"
                   r"|\bvinculad\w*|\brelacionad\w*|\bassociat[oiae] (?:a|con)\w*|\bassociazione tra\b"
                   r"|\bcorrelat[oiae]\b"
                   r"|\blegat[oiae] a\w*",
    "predictor": r"\bpredict\w*|\bprognos\w*|\bmarkers?\b|\bmarqueurs?\b|\bpr[ée]di(?:t|re|ct)\w*|\bvorhersag\w*"
                 r"|\bpredic\w*|\brisk factors?\b|\bfacteurs? de risque\b|\brisikofaktor\w*"
                 r"|\bfactor(?:es)? de riesgo\b"
                 r"|\bfattor[ei] di rischio\b",
    "risk": r"\brisks?\b|\brisque\w*|\brisiko\w*|\briesgo\w*|\brischio\b|\bodds\b|\bhazard\b",
    "comparative": r"\b(?:higher|lower|greater|more|less|fewer|better|worse)\b.{0,60}\bthan\b"
                   r"|\bcompared (?:with|to)\b"
                   r"|\b(?:plus|moins)\b.{0,40}\bque\b|\bpar rapport (?:à|au)\b"
                   r"|\b(?:h[öo]her|niedriger|mehr|weniger|besser|schlechter)\w*\b.{0,40}\bals\b|\bim vergleich\b"
                   r"|\b(?:m[áa]s|menos)\b.{0,40}\bque\b|\bcomparad\w+ con\b|\b(?:pi[ùu]|meno)\b.{0,40}\b(?:di|che)\b"
                   r"|\brispetto a\w*\b",
    "causal_verb": r"\b(?:reduc|decreas|increas|improv|prevent|caus|induc|enhanc|promot|protect|inhibit|lower|rais"
                   r"|worsen|trigger|cure|boost|alleviat|eliminat|restor|stimulat|suppress|lessen|diminish|attenuat"
                   r"|accelerat|delay|slow|halt|revers|shorten|prolong|extend|impair|avert|kill|shrink|heal|fight"
                   r"|treat|block|stop|halv|doubl|tripl|slash)(?:e|es|ed|ing|s)?\b|\bcut(?:s|ting)?\b|\bleads? to\b"
                   r"|\bled to\b|\bresult(?:s|ed)? in\b|\bward(?:s|ed)? off\b|\bhalbier\w*|\bverdoppel\w*"
                   # French, German, Spanish, Italian: verb forms only (the nouns "réduction", "Schutz" name aims)
                   r"|\br[ée]du(?:it|isent|ire|isait|ira)\b|\bdiminu(?:e|ent|[ée]e?s?|er|ait)\b"
                   r"|\baugment(?:e|ent|[ée]e?s?|er|ait|era)\b|\bam[ée]lior(?:e|ent|[ée]e?s?|er|ait|era)\b"
                   r"|\bpr[ée]vien(?:t|nent)\b|\bpr[ée]venir\b|\bprovoqu(?:e|ent|[ée]e?s?|er|ait|era)\b"
                   r"|\bentra[îi]n(?:e|ent|[ée]e?s?|er|ait|era)\b|\bgu[ée]ri(?:t|ssent|r|ra)?\b"
                   r"|\bprot[èeé]g(?:e|ent|er)\b"
                   r"|\bfavoris(?:e|ent|er)\b|\binduit\w*|\babaiss(?:e|ent|er)\b|\bralenti(?:t|ssent|r)?\b"
                   r"|\bstimul(?:e|ent|er)\b|\bsoulag(?:e|ent|er)\b|\bcombat(?:tre|tent)?\b|\bsenk(?:t|en|te|ten)\b"
                   r"|\bgesenkt\b|\breduzier(?:t|en|te|ten)\b|\bverringer(?:t|n|te|ten)\b|\berh[öo]h(?:t|en|te|ten)\b"
                   r"|\bsteiger(?:t|n|te|ten)\b|\bverbesser(?:t|n|te|ten)\b|\bverhinder(?:t|n|te|ten)\b"
                   r"|\bverursach(?:t|en|te|ten)\b|\bf[üu]hr(?:t|en|te|ten) zu\b|\bsch[üu]tz(?:t|en|te|ten)\b"
                   r"|\bheil(?:t|en|te)\b|\bbewirk(?:t|en|te|ten)\b|\blinder(?:t|n|te|ten)\b|\bhemm(?:t|en|te|ten)\b"
                   r"|\bverl[äa]nger(?:t|n|te|ten)\b|\bverz[öo]ger(?:t|n|te|ten)\b|\bl[öo]s(?:t|en|te|ten) \w+ aus\b"
                   r"|\bausl[öo]s(?:en|t)\b|\bbek[äa]mpf(?:t|en|te)\b|\breduc[ei](?:n)?\b|\bdisminuy(?:e|en)\b"
                   r"|\baument(?:a|an)\b|\bmejor(?:a|an)\b|\bprevien(?:e|en)\b|\bprovoc(?:a|an)\b|\bproteg(?:e|en)\b"
                   r"|\bridu(?:ce|cono)\b|\bmiglior(?:a|ano)\b|\bprevien(?:e|ne)\b|\bprotegg(?:e|ono)\b"
                   # contribution, help, enabling, attribution (en, fr, de, es, it)
                   r"|\bcontribut(?:e|es|ed|ing)\b|\baffect(?:s|ed|ing)?\b|\bhelp(?:s|ed)?\b|\benabl(?:e|es|ed)\b"
                   r"|\ballow(?:s|ed)?\b|\bresponsible for\b|\bcauses? of\b|\battribut(?:ed|able) to\b"
                   r"|\bcontribu(?:e|ent|[ée]e?s?|er|ait|aient)\b|\bcondui(?:t|sent|sait|saient|re)\b"
                   r"|\baffect(?:e|ent)\b"
                   r"|\baid(?:e|ent|er|ait)\b|\bpermi(?:s|t|ttent|ttait|ttrait)\b|\br[ée]sult(?:e|ent|ait|aient) d"
                   r"|\b(?:la|les|une|des) (?:principales? )?causes?\b|\bresponsables? d|\bà la suite d"
                   r"|\bagi(?:t|ssent)\b"
                   r"|\btr[äa]g(?:t|en)\b[^.;]{0,80}\bbei\b|\bbeitr(?:ag|[äa]gt)\w*|\bf[üu]hr(?:t|en|te"
                   r"|ten)\b[^.;]{0,80}\bzu\b"
                   r"|\bzur[üu]ckgef[üu]hrt|\bzur[üu]ckzuf[üu]hren|\bhilft\b|\bhelfen\b|\bhalf\b"
                   r"|\berm[öo]glich(?:t|en|te)\b"
                   r"|\b\w*ursache\w*|\bverantwortlich f[üu]r\b|\bbeeintr[äa]chtig(?:t|en|te)\b|\bbeeinfluss(?:t"
                   r"|en|te)\b"
                   r"|\bwirk(?:t|en|te)\b[^.;]{0,60}\baus\b|\bauswirk\w*|\bmach(?:t|en|te)\b[^.;]{0,60}\banf[äa]llig"
                   r"|\bverst[äa]rk(?:t|en|te|ung)\b|\bcontribuy\w*|\bcontribuisc\w*|\bafecta\w*|\bayuda\w*"
                   r"|\bpermite\w*"
                   r"|\bcausa de\b|\baiuta\w*|\bconsente\b"
                   # causal connectives
                   r"|\bdue to\b|\bbecause of\b|\bas a (?:result|consequence) of\b|\bcaused by\b|\bà cause d\b"
                   r"|\bd[ûu]e?s? à\b|\bgr[âa]ce à\b|\ba pour cons[ée]quence\b|\bg[ée]n[èe]r(?:e|ent)\b|\binfolge\b"
                   r"|\bbedingt\w*|\bzur folge\b|\bdebido a\b|\ba causa d\w+|\bdovut[oaie] a\w*|\bgrazie a\w*",
    "outcome_change": r"\b(?:more|less) (?:likely|often) to\b|\bplus souvent\b|\bmoins souvent\b"
                      r"|\bh[äa]ufiger\b|\bseltener\b"
                      r"|\b(?:plus|moins) susceptibles? d|\bwahrscheinlicher\b"
                      r"|\b(?:increased|decreased|reduced|higher|lower|elevated|greater|smaller)(?: \w+){0,2}"
                      r" (?:risks?|rates?|incidence|mortality|odds|likelihood|levels?|numbers?)\b"
                      r"|\b(?:augmentation|diminution|r[ée]duction|baisse|hausse"
                      r"|am[ée]lioration)s? (?:\w+ )?(?:du|de la|des|de l'|d')"
                      r"|\b(?:risque|taux|nombre|mortalit[ée]) (?:\w+ )?(?:accru|plus [ée]lev[ée]|plus faible"
                      r"|r[ée]duit|diminu[ée]"
                      r"|multipli[ée])\w*"
                      r"|\b(?:erh[öo]ht|verringert|vermindert|gesteigert|reduziert|h[öo]her|niedriger"
                      r"|geringer)\w*(?: \w+){0,2}"
                      r" \w*(?:risiko|wahrscheinlichkeit|auftreten|rate|sterblichkeit|mortalit[äa]t|zahl)\w*"
                      r"|\b(?:zunahme|abnahme|anstieg|r[üu]ckgang) (?:der|des|von)\b"
                      r"|\b(?:aumento|disminuci[óo]n|reducci[óo]n|riduzione|diminuzione) (?:del|de la|de los"
                      r"|della|dei)\b",
    "efficacy": r"\beffective\w*|\befficac\w+|\bbenefi\w+|\beffects?\b(?<!\bin effect)(?<!\bin effects)|\bimpacts?\b|\bworks?\b"
                r"|\befficace\w*|\bb[ée]n[ée]fi\w+|\beffets?\b(?<!\ben effet)(?<!\ben effets)(?<!\bcet effet)|\bwirksam\w*|\bwirkung\w*"
                r"|\bwirkt\b|\bhilft\b"
                r"|\bvorteil\w*|\beficac\w+|\befect\w*|\beffett\w*",
    "negation": r"\bnot?\b|n't\b|\bnone\b|\bneither\b|\bwithout\b|\bne\b|\bn'|\bpas\b|\baucun\w*|\bsans\b"
                r"|\bnicht\b|\bkein\w*|\bohne\b|\bsin\b|\bnon\b|\bsenza\b|\bnessun\w*",
    "no_difference": r"\bno (?:significant |statistically significant )?(?:difference|effect|association|change)"
                     r"|\bdid not differ\b|\bpas de diff[ée]rence\b|\baucun\w* (?:diff[ée]rence|effet)\b"
                     r"|\bkein\w* (?:signifikant\w* )?(?:unterschied|effekt|wirkung)\w*|\bsin diferencia\w*"
                     r"|\bnessuna differenza\b",
    "recommendation": r"\bshould\b|\bneed(?:s|ed)?\b|\bwarrant\w*|\brecommend\w*|\bmust\b|\bfurther (?:studies"
                      r"|research)"
                      r"|\bfuture (?:studies|research)\b|\bdevrai\w*|\bdoi(?:t|vent)\b|\bn[ée]cessaire\w*"
                      r"|\brecommand\w*|\bd'autres [ée]tudes\b|\bsollt\w*|\bm[üu]ss\w*|\bnotwendig\w*|\bempfehl\w*"
                      r"|\bweitere (?:studien|forschung)\b|\bdeber[íi]\w*|\bnecesari\w*|\brecomend\w*"
                      r"|\bdovrebb\w*|\bnecessari\w*|\braccomand\w*",
    "figures": r"\d+(?:[.,]\d+)?\s?%|\b\d{2,}\b",
    "finding_frame": r"\b(?:results?|findings?|data|study|studies|we|analysis|trial|evidence|researchers?"
                     r"|scientists?)"
                     r"\b.{0,50}\b(?:show|showed|shown|shows|indicate\w*|demonstrat\w*|found|find|finds|reveal\w*"
                     r"|confirm\w*|suggest\w*|provide\w*|support\w*|report\w*|observ\w*)\b"
                     r"|\br[ée]sultats?\b|\b(?:[ée]tudes?|chercheurs|scientifiques|essai|donn[ée]es)\b.{0,50}"
                     r"\b(?:montr|r[ée]v[èeé]l|indiqu|d[ée]montr|confirm|sugg[èeé]r|constat|observ|trouv)\w*"
                     r"|\bselon (?:une|l'|cette|les) (?:[ée]tude|chercheurs|r[ée]sultats|auteurs)\w*"
                     r"|\bergebnis\w*|\b(?:studie|untersuchung|forscher\w*|wissenschaftler\w*|daten|analyse)\b.{0,50}"
                     r"\b(?:zeig|beleg|deut|best[äa]tig|leg|fand|finden|stellt|beobacht|berichte)\w*"
                     r"|\b(?:laut|nach|gem[äa][ßs]) (?:der|einer|dieser) (?:studie|untersuchung|analyse)\b"
                     r"|\bresultados?\b|\b(?:estudio|investigadores)\b.{0,50}\b(?:muestr|demuestr|indic|revel"
                     r"|sugier)\w*"
                     r"|\brisultat\w*|\b(?:studio|ricercatori)\b.{0,50}\b(?:mostr|dimostr|indic|rivel|sugger)\w*",
    "health": r"\b(?:disease\w*|symptoms?|cancers?|tumou?rs?|mortality|deaths?|survival|infections?|therapy"
              r"|treatment\w*|drugs?|vaccin\w*|health\w*|blood|brain|heart|diabet\w*|obes\w*|depress\w*|pain"
              r"|inflammat\w*|immune|dementia|alzheimer\w*|stroke|sclerosis|arthritis|lupus|cells?|digest\w*|gut"
              r"|sleep|anxiety|stress|weight|cholesterol|asthma|allerg\w*|fever|migraine\w*|headaches?)\b"
              r"|\b(?:malad\w+|sympt[ôo]m\w+|tumeurs?|mortalit[ée]|d[ée]c[èe]s|survie|infections?|th[ée]rapie\w*"
              r"|traitements?|m[ée]dicaments?|vaccin\w*|sant[ée]|sang|cerveau|c(?:œ|oe)ur|diab[èe]t\w*|ob[ée]sit[ée]"
              r"|d[ée]pression|douleurs?|inflammat\w+|immunit\w+|cellules?|digesti\w+|intestin\w*|sommeil"
              r"|anxi[ée]t[ée]"
              r"|poids|cholest[ée]rol|asthme|allerg\w+|fi[èe]vre|migraines?)\b"
              r"|\b(?:krankheit\w*|erkrank\w*|symptom\w*|krebs\w*|tumor\w*|sterblichkeit|tod\w*|[üu]berleben"
              r"|infektion\w*|therapie\w*|behandlung\w*|medikament\w*|arznei\w*|impf\w*|gesundheit\w*|blut\w*"
              r"|gehirn\w*|herz\w*|diabet\w*|[üu]bergewicht|adipositas|depression\w*|schmerz\w*|entz[üu]ndung\w*"
              r"|immun\w*|zellen|darm\w*|verdau\w*|schlaf\w*|angst\w*|gewicht|cholesterin|asthma|allergi\w*"
              r"|fieber|migr[äa]ne|kopfschmerz\w*)\b"
              r"|\b(?:enfermedad\w*|s[íi]ntomas?|c[áa]ncer|salud|tratamiento\w*|malatti\w*|sintomi|tumor[ei]|salute"
              r"|terapi\w*)\b",
    "animal_cell": r"\b(?:mice|mouse|rats?|rodents?|animals?|monkeys?|primates?|zebrafish|pigs?|dogs?|in vitro"
                   r"|cell (?:lines?|cultures?)|cultured cells|petri dish|test tubes?|organoids?"
                   r"|lab(?:oratory)? dish)\b"
                   r"|\b(?:souris|rats?|rongeurs?|animaux|animal|singes?|primates?|in vitro|lign[ée]es? cellulaires?"
                   r"|cultures? cellulaires?|cellules? en culture|organo[ïi]des?)\b"
                   r"|\b(?:m[äa]us\w*|ratten?|nager\w*|tier\w*|affen|primaten|in vitro|zelllinie\w*|zellkultur\w*"
                   r"|reagenzglas\w*|petrischale\w*|organoid\w*)\b"
                   r"|\b(?:ratones|ratas|animales|topi|ratti|animali|in vitro)\b",
    "human": r"\b(?:humans?|people|patients?|participants?|subjects?|men|women|adults?|children|persons?|individuals"
             r"|consumers|you|your)\b"
             r"|\b(?:humains?|hommes|femmes|personnes|patient(?:e|s|es)?|adultes|enfants|malades|vous|votre)\b"
             r"|\b(?:menschen?|m[äa]nner|frauen|personen|patient(?:en|innen)?|erwachsene\w*|kinder\w*|betroffene\w*"
             r"|probanden|teilnehmer\w*"
             r"|sie|ihr\w*)\b|\b(?:humanos|personas|pacientes|pazienti|persone|umani)\b",
    "diagnostic": r"\b(?:diagnos|identif|screen|d[ée]tect|d[ée]pist|pr[ée]di|erkenn|nachweis|vorhersag|rilev)\w*",
    "definition": r"\b(?:is|are|est|sont|ist|sind|es|son|è|sono) (?:a|an|une?|ein\w*|una?|uno)\b[^,.;]{0,80}"
                  r"\b(?:that|which|qui|der|die|das|que|che)\b|,\s*(?:which|qui|der|die|das|que|che)\s+\w+",
    "distanced": r"\?|\bclaim(?:s|ed)?\b|\blooking forward\b|\bhop(?:e|es|ed|ing) (?:to|that)\b|\baim(?:s|ed)? to\b"
                 r"|\b(?:effort|attempt|bid)s? to\b|\bespère\w*|\bhoff(?:t|en)\b|\bmarketed\b|\bpromoted\b"
                 r"|\bsold as\b|\bbelieve[sd]?\b|\bquestions? (?:about|on|over)\b"
                 r"|\bcroi(?:t|ent)\b|\bglaub(?:t|en)\b|\ballegedly\b|\bsupposedly\b|\bso-called\b"
                 r"|\bpr[ée]tend\w*|\bsoi-disant\b|\bpr[ée]tendument\b|\ball[ée]gations?\b|\bbehaupt\w*"
                 r"|\bangeblich\w*"
                 r"|\bvermeintlich\w*|\bsogenannt\w*|\bversprech\w*|\bpromet\w*|\bpresunt\w*|\bsupuest\w*",
    "benefit": r"\bcut(?:s|ting)?\b|\bward(?:s|ed)? off\b"
               r"|\b(?:improv|reduc|lower|cur|heal|prevent|protect|reliev|alleviat|help|boost|restor|revers"
               r"|strengthen|treat"
               r"|eas|relax|fight)(?:e|es|ed|ing|s)?\b|\beffective\b|\bworks?\b|\bbeneficial\b|\bbenefits?\b"
               r"|\b(?:am[ée]lior|r[ée]dui|diminu|gu[ée]ri|soign|pr[ée]vien|prot[èeé]g|soulag|aid|renforc|restaur"
               r"|apais|combat|lutt)\w*|\befficaces?\b|\bb[ée]n[ée]fi(?:ques?|ces?)\b|\bnutzen\b|\bvorteil\w*"
               r"|\b(?:verbesser|senk|reduzier|verringer|heil|verhinder|sch[üu]tz|linder|hilft|helfen|st[äa]rk"
               r"|wirksam"
               r"|bek[äa]mpf)\w*|\bbeug\w* \w+ vor\b|\bwirkt\b"
               r"|\b(?:mejor|reduc|cur|previen|proteg|alivi|ayud|eficaz|miglior|ridu|guarisc|protegg|allevi"
               r"|aiut|efficac)\w*",
}
_PHRASE = {name: re.compile(rx, re.UNICODE) for name, rx in PHRASES.items()}
"""Compiled without IGNORECASE, two to three times faster: every search runs on lowercased text."""
FEATURE_PHRASES = ("modal", "hedge", "association", "predictor", "risk", "comparative", "causal_verb",
                   "outcome_change", "efficacy", "negation", "no_difference", "recommendation", "figures", "finding_frame")
"""Phrase cues that are features of the strength model (in this order, after the concept grams)."""
_INTERACTIONS = (("modal", "causal_verb"), ("modal", "association"), ("hedge", "causal_verb"),
                 ("hedge", "association"), ("negation", "causal_verb"), ("negation", "association"),
                 ("modal", "efficacy"))
PHRASE_FEATURES = FEATURE_PHRASES + tuple(f"{a}*{b}" for a, b in _INTERACTIONS) + ("log_words",)


def phrase_features(sentences: list[str]) -> np.ndarray:
    """One row per sentence: each phrase cue present (0/1), their :data:`_INTERACTIONS` and the log word count."""
    out = np.zeros((len(sentences), len(PHRASE_FEATURES)))
    for row, sentence in enumerate(sentences):
        low = sentence.lower()
        hits = {name: float(bool(_PHRASE[name].search(low))) for name in FEATURE_PHRASES}
        out[row] = [*hits.values(), *(hits[a] * hits[b] for a, b in _INTERACTIONS), np.log1p(len(sentence.split()))]
    return out


def rule_strength(sentence: str) -> str:
    """A transparent strength rule on the phrase cues (a model feature, and a baseline in the metrics).

    Association or predictor words → ``correlational``; else a causal cue (verb, connective, efficacy
    word) with a hedge or modal → ``conditional_causal``, without → ``direct_causal``; else a comparison
    or a change in an outcome → ``correlational``; else ``no_relation``.
    """
    low = sentence.lower()

    def has(name: str) -> bool:
        return bool(_PHRASE[name].search(low))

    if has("association") or has("predictor"):
        return "correlational"
    if has("causal_verb") or has("efficacy"):
        return "conditional_causal" if has("modal") or has("hedge") else "direct_causal"
    if has("comparative") or has("outcome_change"):
        return "correlational"
    return "no_relation"


def gram_matrix(sentences: list[str], vocabulary: list[str], max_gap: int) -> np.ndarray:
    """Binary sentence × concept-gram matrix over ``vocabulary`` (grams outside it are ignored)."""
    index = {gram: i for i, gram in enumerate(vocabulary)}
    out = np.zeros((len(sentences), len(vocabulary)))
    for row, sentence in enumerate(sentences):
        cols = [index[g] for g in concept_grams(sentence, max_gap) if g in index]
        out[row, cols] = 1.0
    return out


def claim_features(vectors: np.ndarray, sentences: list[str], vocabulary: list[str], max_gap: int) -> np.ndarray:
    """The strength model's input: sentence embedding | concept grams | phrase features | rule one-hot."""
    rule = np.array([[rule_strength(s) == label for label in STRENGTHS] for s in sentences], dtype=np.float64)
    return np.hstack([np.asarray(vectors, dtype=np.float64), gram_matrix(sentences, vocabulary, max_gap),
                      phrase_features(sentences), rule.reshape(len(sentences), len(STRENGTHS))])


# --- sentences and finding detection --------------------------------------------------------------

_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”»)]*\s+|\s*\n\s*")
_HARD_WRAP_BEFORE = re.compile(r"[\w,;)%-]$")
_LOWER_START = re.compile(r"[a-zß-öø-ÿ0-9(]")
_ABBREVIATION = re.compile(r"(?:\b\w|\b(?:dr|prof|nr|ca|bzw|vs|mr|mrs|ms|st|fig|vol|inkl|ggf|evtl|resp|cf|env|mme))\.$", _I)
MIN_FINDING_WORDS, MAX_FINDING_WORDS = 6, 80
_PURPOSE = re.compile(r"\b(?:pour|afin d[e']|in order to|so as to|um\b[^,.;]{0,80}?\bzu|para)\s+\w+", _I)
_FIRST_PERSON = re.compile(r"(?-i:\bI\b)|\bmy\b|\bje\b|\bj'|\bmoi\b|\bich\b|\bmir\b|\bmich\b|\bmein\w*", _I)
STRONG_RELATION_CUES = ("association", "predictor", "causal_verb", "outcome_change", "no_difference")
WEAK_RELATION_CUES = ("comparative", "efficacy")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of the sentences of ``text``.

    A sentence ends at ``.!?…`` followed by white space, or at a line break; not after an abbreviation
    ("z. B.", "Dr.") or where the next sentence would start in lower case ("et al. found", a hard-wrapped line).
    """
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        nxt = text[match.end():match.end() + 1]
        before = text[max(0, match.start() - 6):match.start()]
        if "\n" in match.group():
            joined = _LOWER_START.match(nxt) and _HARD_WRAP_BEFORE.search(before)
        else:
            joined = _LOWER_START.match(nxt) or _ABBREVIATION.search(before)
        if joined:
            continue
        if text[start:match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def is_finding(sentence: str) -> bool:
    """Does ``sentence`` state a finding?

    Shape: :data:`MIN_FINDING_WORDS`–:data:`MAX_FINDING_WORDS` words, not a question, not in the first
    person singular (anecdotes, forum posts). Cues, outside purpose clauses ("pour réduire", "um ... zu
    verhindern" state an aim, not a result): a strong relation cue (association, predictor, causal verb
    or connective, change in an outcome, no difference), or a weak one (comparison, efficacy word)
    anchored by a result frame ("the study found", "l'étude montre", "die Daten zeigen") or a health
    word. A recommendation ("should", "doit", "sollte") counts only with a result frame.
    """
    words = len(sentence.split())
    if not MIN_FINDING_WORDS <= words <= MAX_FINDING_WORDS or sentence.rstrip().endswith("?") \
            or _FIRST_PERSON.search(sentence):
        return False
    claim, low = _PURPOSE.sub(" ", sentence).lower(), sentence.lower()
    strong = any(_PHRASE[name].search(claim) for name in STRONG_RELATION_CUES)
    if not strong and not any(_PHRASE[name].search(claim) for name in WEAK_RELATION_CUES):
        return False  # most sentences stop here: the cheaper test first
    frame = bool(_PHRASE["finding_frame"].search(low))
    if _PHRASE["recommendation"].search(low) and not frame:
        return False
    return strong or frame or bool(_PHRASE["health"].search(low) or _PHRASE["human"].search(low))


def finding_spans(text: str, max_chars: int, max_sentences: int) -> list[tuple[int, int]]:
    """Offsets of the first ``max_sentences`` finding sentences that end within the first ``max_chars`` characters."""
    spans, within = [], sentence_spans(text[:max_chars])
    if len(text) > max_chars and within:
        within.pop()  # the last sentence may be cut at max_chars
    for start, end in within:
        if is_finding(text[start:end]):
            spans.append((start, end))
            if len(spans) == max_sentences:
                break
    return spans


# --- the strength model, in numpy -------------------------------------------------------------------

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "claims.npz"


class ClaimModel:
    """The exported strength model: standardise → linear scores → softmax(scores / temperature).

    ``arrays`` (the contents of ``models/claims.npz``, written by :mod:`pipeline.train_claims`):
    ``classes``, ``mean``, ``scale``, ``coef``, ``intercept``, ``temperature``, ``vocabulary`` (concept
    grams), ``phrase_features`` (must equal :data:`PHRASE_FEATURES`), ``max_gap``, ``embedder`` and the
    page settings ``max_chars``, ``max_sentences``, ``flag_min_score``, ``flag_min_level_score``,
    ``flag_lead_chars``.
    """

    def __init__(self, arrays: dict):
        if list(arrays["phrase_features"]) != list(PHRASE_FEATURES):
            raise PagetagError("the claim model was trained with other phrase features; rerun `dvc repro claims`")
        self.classes = [str(c) for c in arrays["classes"]]
        self.mean, self.scale = np.asarray(arrays["mean"]), np.asarray(arrays["scale"])
        self.coef, self.intercept = np.asarray(arrays["coef"]), np.asarray(arrays["intercept"])
        self.temperature = float(arrays["temperature"])
        self.vocabulary = [str(g) for g in arrays["vocabulary"]]
        self.max_gap = int(arrays["max_gap"])
        self.embedder = str(arrays["embedder"])
        self.settings = {key: float(arrays[key]) for key in
                         ("max_chars", "max_sentences", "flag_min_score", "flag_min_level_score",
                                      "flag_lead_chars")}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL_PATH) -> "ClaimModel":
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls({key: data[key] for key in data.files})
        except (OSError, KeyError, ValueError) as exc:
            raise PagetagError(f"cannot load the claim model {path}: {exc}") from None

    def features(self, vectors: np.ndarray, sentences: list[str]) -> np.ndarray:
        return claim_features(vectors, sentences, self.vocabulary, self.max_gap)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (columns in ``classes`` order) for rows of :func:`claim_features`."""
        z = ((features - self.mean) / self.scale) @ self.coef.T + self.intercept
        z = z / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


# --- exaggeration flags ---------------------------------------------------------------------------

MAX_FLAGS = 3
PROMOTERS = ("press_release", "commercial", "seo_content", "blog", "forum")
"""Source types whose claims without a study are promises (a reference page or a news report stating a
claim without citing a study mostly repeats established knowledge or reports someone else's claim)."""
_NOT_FLAGGED = ("negation", "distanced", "animal_cell", "diagnostic", "definition")
WEAK_EVIDENCE = ("observational", "preclinical", "case_report", "uncontrolled_trial", "unsupported")
STRONG_DESIGN_CUES = ("meta_analysis", "systematic_review", "randomised", "placebo", "double_blind",
                      "controlled_trial")
FLAG_RULES = {
    "causal_claim": "a direct causal claim (a health word plus, on an observational page, a benefit or risk "
                    "word; elsewhere a benefit word: improves, cures, lindert, soulage...) on a page whose "
                    "evidence is observational, a case report, an uncontrolled trial, or no study at all on a "
                    "page that promotes (press release, commercial, SEO, blog, forum)",
    "human_inference": "a claim that something helps people (direct or conditional causal, a human word and a "
                       "benefit word) on a page whose evidence is an animal or cell study, with no animal or cell "
                       "word in the sentence",
}
"""The two flags. Evidence (Sumner et al., BMJ 2014;349:g7015: 462 press releases of 20 UK universities and
668 news stories): 33% of the press releases on correlational results made causal claims stronger than
the paper, and 36% of those on non-human studies inferred to humans; when the press release exaggerated,
81% and 86% of the news stories did too (18% and 10% when it did not). A flag needs a main claim (in the
page's headline and opening) that is stronger than its evidence. Not flagged: a causal sentence that names
the animals or cells ("reduced tumours in mice": what the study showed); negated sentences ("did not
reduce"); reported, distanced or aspirational claims ("marketed as", "behauptet", "hopes to", questions);
definitions ("X is a therapy that..."); diagnostic claims ("can help detect"); claims without a study on
reference and news pages (mostly established knowledge or someone else's claim); pages whose text names a
randomised, placebo-controlled or systematic-review design that the predicted evidence level missed; and
pages whose evidence level, or claims whose strength, score below ``flag_min_level_score`` / ``flag_min_score``."""


def exaggeration_flags(claims: list[dict], labels: dict, evidence_cues: list[str], *, min_score: float,
                       min_level_score: float, lead_chars: int) -> list[dict]:
    """Flags (:data:`FLAG_RULES`) for a page's ``claims`` given its predicted ``labels`` and evidence cues.

    Only the page's main claims count: finding sentences that start within its first ``lead_chars``
    characters (headline and opening), where a page states what it found; later sentences are mostly
    background, quotes and caveats.
    """
    evidence = labels["evidence_level"]
    level = evidence["label"]
    if level not in WEAK_EVIDENCE or evidence["score"] < min_level_score:
        return []
    if level != "preclinical" and set(evidence_cues) & set(STRONG_DESIGN_CUES):
        return []
    if level == "unsupported" and labels["source_type"]["label"] not in PROMOTERS:
        return []
    flags = []
    for claim in claims:  # in page order: the first flags are the ones a reader meets first
        sentence, strength, low = claim["sentence"], claim["strength"], claim["sentence"].lower()
        if claim["start"] >= lead_chars or claim["score"] < min_score or not _PHRASE["health"].search(low) \
                or any(_PHRASE[name].search(low) for name in _NOT_FLAGGED):
            continue
        if level == "preclinical":
            kind = "human_inference" if strength in ("direct_causal", "conditional_causal") \
                and _PHRASE["human"].search(low) and _PHRASE["benefit"].search(low) else None
        else:
            kind = "causal_claim" if strength == "direct_causal" and (_PHRASE["benefit"].search(low) or (
                level == "observational" and _PHRASE["risk"].search(low))) else None
        if kind:
            flags.append({"kind": kind, "sentence": sentence, "evidence_level": level, "strength": strength,
                          "score": claim["score"]})
    return flags[:MAX_FLAGS]


# --- pages --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _cached_model(path: str) -> ClaimModel:
    return ClaimModel.load(path)


@functools.lru_cache(maxsize=2)
def _own_embedder(name: str):
    from pipeline.embed import load_embedder

    return load_embedder(name, direct=True)


def page_claims(texts: list[str], model: ClaimModel, embedder) -> list[list[dict]]:
    """Per text, its finding sentences in order: ``{"sentence", "start", "end", "strength", "score"}``."""
    spans = [finding_spans(text, int(model.settings["max_chars"]), int(model.settings["max_sentences"]))
             for text in texts]
    sentences = [text[s:e] for text, page in zip(texts, spans) for s, e in page]
    if not sentences:
        return [[] for _ in texts]
    proba = model.predict_proba(model.features(embedder.encode(sentences), sentences))
    rows = iter(zip(sentences, proba))
    out = []
    for page in spans:
        claims = []
        for (start, end), (sentence, p) in zip(page, rows):
            best = int(p.argmax())
            claims.append({"sentence": sentence, "start": start, "end": end, "strength": model.classes[best],
                           "score": round(float(p[best]), 4)})
        out.append(claims)
    return out


def annotate_claims(records: list[dict], texts: list[str], embedder_name: str, embedder,
                    model_path: str | Path = DEFAULT_MODEL_PATH) -> None:
    """Add ``claims`` and ``flags`` to each ``Predictor.classify`` record (its labels and cues are read).

    ``embedder`` (called ``embedder_name``) is reused when the claim model was trained on the same one.
    """
    model = _cached_model(str(model_path))
    encoder = embedder if embedder_name == model.embedder else _own_embedder(model.embedder)
    for record, claims in zip(records, page_claims(texts, model, encoder)):
        record["claims"] = claims
        record["flags"] = exaggeration_flags(claims, record["labels"], record["evidence_cues"],
                                             min_score=model.settings["flag_min_score"],
                                             min_level_score=model.settings["flag_min_level_score"],
                                             lead_chars=int(model.settings["flag_lead_chars"]))


def claim_lines(prediction: dict, top: int = 5) -> list[str]:
    """The ``--explain`` lines of a prediction's claims (the ``top`` strongest) and flags."""
    claims, flags = prediction["claims"], prediction["flags"]
    ranked = sorted(claims, key=lambda c: (-STRENGTHS.index(c["strength"]), -c["score"]))[:top]
    lines = [f"    claims: {len(claims)} finding sentence(s)" + (f", the {top} strongest" if len(claims) > top else "")]
    lines += [f"      {c['strength']} {c['score']:.2f}  {' '.join(c['sentence'].split())}" for c in ranked]
    lines.append(f"    exaggeration flags: {len(flags) or 'none'}")
    lines += [f"      {f['kind']} (evidence: {f['evidence_level']}): {' '.join(f['sentence'].split())}" for f in flags]
    return lines
