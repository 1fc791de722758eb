"""The input string kept on each Doc, so components slice it instead of rebuilding text token by token."""

from __future__ import annotations

from spacy.tokens import Doc

from pipeline.components.extensions import SOURCE_TEXT


class TextKeepingTokenizer:
    """spaCy's tokenizer, keeping the input string on the Doc.

    ``Doc.text`` and ``Span.text`` rebuild the string token by token, in
    Python; the components read slices of the kept string instead (see
    doc_text). Everything else is delegated to the wrapped tokenizer, so
    ``nlp.to_disk`` saves it as spaCy's own (a loaded pipeline falls back to Doc.text).
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc._.set(SOURCE_TEXT, text)
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str):
        if name == "tokenizer" or name.startswith("__"):  # not yet set (copy, unpickling): no delegation
            raise AttributeError(name)
        return getattr(self.tokenizer, name)


def doc_text(doc: Doc) -> str:
    """The doc's text: the kept input string if there is one (the tokenizer never changes it), else Doc.text."""
    text = doc._.get(SOURCE_TEXT)
    return doc.text if text is None else text
