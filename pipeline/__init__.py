"""Turn medical Q&A threads into a traceable claim dataset.

The Python API (pipeline.faces.api), imported on first use so that ``import pipeline`` stays light:
``load()``, ``extract_claims(text_or_thread)``, ``process(threads)``, ``read_outputs(folder)``.
"""

__version__ = "0.1.0"
API = ("load", "extract_claims", "process", "read_outputs")


def __getattr__(name: str):
    if name in API:
        from pipeline.faces import api

        return getattr(api, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
