"""The fixed label taxonomy (../shared/TAXONOMY.md): three heads and their label names."""

HEADS = ("source_type", "evidence_level", "topic")

LABELS = {
    "source_type": (
        "news", "press_release", "blog", "commercial", "seo_content",
        "scientific", "reference", "forum", "other",
    ),
    "evidence_level": (
        "systematic_review", "rct", "observational", "uncontrolled_trial",
        "case_report", "preclinical", "unsupported", "not_applicable",
    ),
    "topic": (
        "autoimmune", "neurology", "oncology", "cardiovascular", "infectious",
        "metabolic", "mental_health", "other_health", "non_health",
    ),
}


def check_label(head: str, label: str) -> str:
    """Return ``label`` if it belongs to ``head``'s taxonomy, else raise ValueError."""
    if label not in LABELS[head]:
        raise ValueError(f"{label!r} is not a {head} label; expected one of {', '.join(LABELS[head])}")
    return label
