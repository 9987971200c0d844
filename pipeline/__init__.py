"""pagetag: classify health web pages by source type, evidence level and topic."""

__version__ = "0.1.0"
