"""efir: self-hosted Russian speech-to-text for TV newsrooms (shared domain package)."""

__version__ = "0.1.0"
