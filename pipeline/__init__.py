"""sohoa's pipeline: a scan goes in, an archived and searchable PDF/A-2u comes out."""

__version__ = "0.1.0"
