"""Reading a thread's question: the proposition its answers take a stance on.

A stance is toward a yes/no proposition: "Will my muscles grow back?" asks
whether the muscles grow back, and an answer saying they return to full size
is `favor`, while the same answer under "Are the results permanent?" is
`against`. So the question is read into three things:

- ``question_kind``: ``yes/no`` when the question sentence opens like one
  ("Will ...", "Can ...", "Is ..."), ``open`` when it asks how long, when,
  what or why ("How long does Botox last?"): an open question has no
  proposition to agree with, so its answers get no stance.
- ``proposition``: the question sentence read as the statement a *yes*
  affirms (the opening auxiliary and the question mark dropped).
- ``proposition_polarity``: which way a *yes* points on the axis most of
  these threads are about: ``lasting`` (the effect stays, builds up or
  worsens: permanence, atrophy, damage, needing less) or ``passing`` (it
  wears off, goes away, returns to normal, can be undone); ``other`` where
  the question says neither. The stance model reads the claim against it.
- ``proposition_kind``: what a yes/no proposition is about, beyond that axis
  (schemas.PROPOSITION_KINDS): a side effect lasting or passing, resistance
  (the treatment stops working), worse after stopping, else its polarity.

The question sentence is the title when it asks something, else the first
sentence of the title or body that does. Rules are data
(``resources/question_lexicon.json``); a thread's proposition can also be
given by hand (see ``override``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import QUESTION_LEXICON_FILE
from pipeline.io.files import reread_when_changed
from pipeline.schemas import (LASTING, NONE, OPEN, OTHER, PASSING, QUESTION_KINDS, RESISTANCE,  # noqa: F401 (re-exported)
                              SIDE_EFFECT_DURATION, WORSE_AFTER_STOPPING, YES_NO)

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\s*\n\s*")


@dataclass(frozen=True)
class Question:
    proposition: str
    question_kind: str
    proposition_polarity: str
    question_source: str  # where it was read: "page", "thread id", "given" (by hand) or "" (nowhere)
    proposition_kind: str = ""  # of a yes/no question: what its proposition is about (schemas.PROPOSITION_KINDS)

    def as_row(self) -> dict:
        return {"proposition": self.proposition, "question_kind": self.question_kind,
                "proposition_polarity": self.proposition_polarity, "question_source": self.question_source,
                "proposition_kind": self.proposition_kind}


@reread_when_changed
def load_lexicon(path: Path = QUESTION_LEXICON_FILE) -> dict[str, re.Pattern]:
    """One compiled pattern per key; a wrong or missing key is an error naming the file."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    compiled = {}
    for key, patterns in raw.items():
        if key.startswith("_"):
            continue
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{path}: {key!r} must be a list of regular expressions")
        compiled[key] = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    missing = {"open_openers", "yes_no_openers", "clause_breaks", "lasting", "passing"} - set(compiled)
    if missing:
        raise ValueError(f"{path}: missing keys {sorted(missing)}")
    return compiled


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def clauses(sentence: str, lexicon, inner: bool = True) -> list[tuple[str, int, int]]:
    """(kind, start, end of opener) of each clause of `sentence` that opens like a question, in order.

    Clauses inside the sentence count only when `inner` (a sentence ending in
    '?', or a title line): in a statement ", which suggests ..." asks nothing.
    """
    starts = [0] + ([m.end() for m in lexicon["clause_breaks"].finditer(sentence)] if inner else [])
    found = []
    for start in sorted(set(starts)):
        rest = sentence[start:]
        lead = len(rest) - len(rest.lstrip(" \t'\"\u2018\u201c"))
        for kind, key in ((OPEN, "open_openers"), (YES_NO, "yes_no_openers")):
            match = lexicon[key].match(rest, lead)
            if match:
                found.append((kind, start + lead, start + match.end()))
                break
    return found


def question_sentence(title: str, body: str, lexicon) -> str:
    """The sentence that asks: one that opens like a question (title first, then body), else one ending in '?'."""
    sentences = [(s, True) for s in _sentences(title)] + [(s, s.rstrip().endswith("?")) for s in _sentences(body)]
    opening = next((s for s, inner in sentences if clauses(s, lexicon, inner)), None)
    return opening or next((s for s, _ in sentences if s.rstrip().endswith("?")), "")


def polarity(text: str, lexicon) -> str:
    """Which way a yes points; a passing cue wins ("Will my smile return to normal for good?" asks if it returns)."""
    if lexicon["passing"].search(text):
        return PASSING
    if lexicon["lasting"].search(text):
        return LASTING
    return OTHER


_ONLY_PRONOUN_SUBJECT = re.compile(r"\s*(?:it|this|that|they|these|those)\b", re.IGNORECASE)


def proposition_kind(text: str, lexicon, context: str = "") -> str:
    """What a yes/no proposition is about (GUIDELINE.md, "Proposition kinds"): the treatment stopping working, or
    things worse after stopping, as the proposition says; else its polarity (lasting or passing), which is a side
    effect's time course where the proposition names a side effect, or its subject is only "it" or "this" and the
    question's title or body (`context`) names one ("Will it go away?" under "Droopy eyelid after Botox"); else
    other. (Dev, proposition kind right: 0.43 with the proposition alone, 0.51 so.) "Not permanent" answers a permanence
    question and says nothing about resistance."""
    if "resistance" in lexicon and lexicon["resistance"].search(text):
        return RESISTANCE
    if "worse_after_stopping" in lexicon and lexicon["worse_after_stopping"].search(text):
        return WORSE_AFTER_STOPPING
    axis = polarity(text, lexicon)
    if axis == OTHER or "side_effect_topic" not in lexicon:
        return axis
    topic = lexicon["side_effect_topic"]
    # "Will it go away?" under "Droopy eyelid after Botox": the question names what the pronoun stands for
    if topic.search(text) or (_ONLY_PRONOUN_SUBJECT.match(text) and context and topic.search(context)):
        return SIDE_EFFECT_DURATION
    return axis


def read_question(title: str, body: str, lexicon, thread_id: str = "") -> Question:
    """The proposition, kind and polarity of a thread's question (title and body as on the page).

    An open question followed by a yes/no one ("How long does this go on & is
    it permanent?") is read as the yes/no one: that is what its answers take a
    side on. A sentence that only ends in '?' ("Botox and bruxism?") is yes/no
    about what it names. A page with no question is read from its title when
    that states something on the proposition axes (source ``title``), else
    from its thread id when that holds a question's words; else the kind is ``none``.
    """
    sentence = question_sentence(title or "", body or "", lexicon)
    if sentence:
        return _reading(sentence, clauses(sentence, lexicon), "page", lexicon, f"{title or ''}\n{body or ''}")
    # a page that asks nothing but whose title states a proposition on the axis ("Botox Improves the Longer You Use
    # It"): the title is what its text argues for or against (GUIDELINE.md, inferred propositions)
    stated = (title or "").strip().rstrip("!.:").strip()
    if stated and (polarity(stated, lexicon) != OTHER or proposition_kind(stated, lexicon) != OTHER):
        return _reading(stated, [], "title", lexicon, f"{title or ''}\n{body or ''}")
    words = id_words(thread_id)
    # a slug has no punctuation: its question starts at the first word that opens one
    starts = [0] + [m.end() for m in re.finditer(r" ", words)]
    found = next(([(kind, start + a, start + b)] for start in starts
                  for kind, a, b in clauses(words[start:], lexicon, inner=False)), [])
    if found or (words and polarity(words, lexicon) != OTHER):
        return _reading(words, found, "thread id", lexicon)
    return Question("", NONE, OTHER, "")


def id_words(thread_id: str) -> str:
    """A thread id as words: site ids are often the question's slug ('will-my-botox-become-permanent')."""
    words = [w for w in re.split(r"[\W_]+", thread_id or "") if w]
    while words and (len(words[0]) < 2 or not words[0].isalpha()):
        words.pop(0)
    return " ".join(words)


def _reading(sentence: str, found: list[tuple[str, int, int]], source: str, lexicon, context: str = "") -> Question:
    yes_no = [c for c in found if c[0] == YES_NO]
    if found and found[0][0] == OPEN and not yes_no:
        return Question(sentence.rstrip("?!. "), OPEN, OTHER, source)
    statement = sentence[yes_no[0][2]:] if yes_no else sentence
    statement = statement.strip(" ,;:-").rstrip("?!. ").strip()
    return Question(statement, YES_NO, polarity(statement, lexicon), source,
                    proposition_kind(statement, lexicon, context))


def direct_answer(title: str, text: str, lexicon) -> str:
    """'favor' for an answer that opens with a plain yes ("Yes, over time ..."), 'against' for a plain no, else ''.

    The title decides if it has one, else the body's first words: that is
    where a doctor who answers the question as asked puts the answer.
    """
    for opening in (title or "", (text or "").lstrip()):
        if opening.strip():
            if lexicon["answer_yes"].match(opening):
                return "favor"
            if lexicon["answer_no"].match(opening):
                return "against"
            if title and title.strip():
                return ""
    return ""


def thread_question(title: str, body: str, thread_id: str, proposition: str = "", question_kind: str = "",
                    lexicon=None) -> Question:
    """The reading of a thread's question, or the proposition given by hand for it."""
    lexicon = lexicon or load_lexicon()
    return override(read_question(title, body, lexicon, thread_id), proposition, question_kind, lexicon)


def override(question: Question, proposition: str | None, question_kind: str | None, lexicon) -> Question:
    """A proposition given by hand replaces the one read; its kind defaults to yes/no, its polarity is read from it."""
    if not proposition and not question_kind:
        return question
    if question_kind and question_kind not in QUESTION_KINDS:
        raise ValueError(f"question_kind must be one of {QUESTION_KINDS}, got {question_kind!r}")
    text = proposition.strip() if proposition else question.proposition
    kind = question_kind or (YES_NO if proposition else question.question_kind)
    if kind != YES_NO:
        return Question(text, kind, OTHER, "given")
    return Question(text, kind, polarity(text, lexicon), "given", proposition_kind(text, lexicon))
