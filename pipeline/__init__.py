"""Turn medical Q&A threads into a traceable claim dataset."""

__version__ = "0.1.0"
