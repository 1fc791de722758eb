"""A naive keyword script, the yardstick every accuracy figure is shown beside.

It is what one would write in an afternoon: paragraphs are answers, a short
line without a full stop heads the paragraph after it, sentences end at
punctuation or a line break, a claim type is a keyword in the sentence, a
negation or hedge word anywhere in the sentence sets the flag, and the first
"N(-M) unit" is the duration. It writes rows in the pipeline's own columns, so
pipeline.accuracy scores both the same way. Its word lists are deliberately
plain and live here, not in the pipeline's rule files: it must not improve when
the pipeline's rules do.
"""

from __future__ import annotations

import re

import pandas as pd

from pipeline.measuring.gold import MONTHS_PER_UNIT

KEYWORDS = {
    "duration": r"\b(?:last|lasts|lasting|lasted|duration|months?|weeks?|long-term|longer)\b",
    "atrophy": r"\b(?:atroph\w*|shrink\w*|shrunk|weaker|smaller|thinner|muscle mass)\b",
    "dose_reduction": r"\b(?:less botox|less product|fewer units|less units|lower doses?|less often|less frequent\w*|"
                      r"fewer treatments|fewer injections)\b",
    "reversibility": r"\b(?:wears? off|wore off|wearing off|temporary|temporarily|permanent\w*|go(?:es)? away|"
                     r"return\w*|reversible|irreversible|recover\w*|resolve\w*|back to normal)\b",
}
NEGATION = re.compile(r"\b(?:not|no|never|without|cannot|none)\b|n't\b", re.IGNORECASE)
HEDGE = re.compile(r"\b(?:may|might|can|could|should|usually|typically|generally|often|sometimes|probably|likely|"
                   r"possibly|perhaps|maybe|seems?|appears?)\b", re.IGNORECASE)
DURATION = re.compile(r"\b(\d+(?:\.\d+)?)(?:\s*(?:-|–|to)\s*(\d+(?:\.\d+)?))?\s*(day|week|month|year)s?\b", re.IGNORECASE)
SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)
PARAGRAPH = re.compile(r"\S(?:.|\n(?![ \t]*\n))*", re.MULTILINE)


def _is_title(paragraph: str) -> bool:
    return "\n" not in paragraph and len(paragraph.split()) <= 12 and not paragraph.rstrip().endswith(".")


def segment(thread_id: str, text: str) -> list[dict]:
    """answers.csv-like rows: the first line is the question title, the next paragraph its body."""
    paragraphs = [(m.start(), m.end()) for m in PARAGRAPH.finditer(text)]
    if not paragraphs:
        return []
    first_start, first_end = paragraphs[0]
    line_end = text.find("\n", first_start, first_end)
    line_end = first_end if line_end < 0 else line_end
    pieces = ([(line_end + 1, first_end)] if line_end < first_end else []) + paragraphs[1:]
    rows = [_row(thread_id, text, 0, (first_start, line_end), pieces[0] if pieces else (line_end, line_end))]
    title = None
    for start, end in pieces[1:]:
        if title is None and _is_title(text[start:end]):
            title = (start, end)
            continue
        rows.append(_row(thread_id, text, len(rows), title or (start, start), (start, end)))
        title = None
    return rows


def _row(thread_id: str, text: str, position: int, title: tuple[int, int], body: tuple[int, int]) -> dict:
    return {"thread_id": thread_id, "answer_id": f"{thread_id}:{position}", "position": position,
            "role": "question" if position == 0 else "answer", "title": text[title[0]:title[1]],
            "title_start": title[0], "title_end": title[1], "text": text[body[0]:body[1]],
            "char_start": body[0], "char_end": body[1]}


def extract(answers: list[dict], text: str) -> list[dict]:
    """claims.csv-like rows: one per sentence and keyword type."""
    rows = []
    for answer in answers:
        for start, end in ((answer["title_start"], answer["title_end"]), (answer["char_start"], answer["char_end"])):
            for match in SENTENCE.finditer(text, start, end):
                sentence = match.group(0).strip()
                if not sentence or sentence.endswith("?"):
                    continue
                offset = match.start() + match.group(0).index(sentence)
                figure = DURATION.search(sentence)
                for claim_type, pattern in KEYWORDS.items():
                    if re.search(pattern, sentence, re.IGNORECASE):
                        low = high = None
                        if claim_type == "duration" and figure:
                            factor = MONTHS_PER_UNIT[figure.group(3).lower() + "s"]
                            low = round(float(figure.group(1)) * factor, 2)
                            high = round(float(figure.group(2) or figure.group(1)) * factor, 2)
                        rows.append({"thread_id": answer["thread_id"], "answer_id": answer["answer_id"],
                                     "role": answer["role"], "claim_type": claim_type, "text": sentence,
                                     "char_start": offset, "char_end": offset + len(sentence),
                                     "negated": bool(NEGATION.search(sentence)), "hedged": bool(HEDGE.search(sentence)),
                                     "duration_min_months": low, "duration_max_months": high})
    return rows


def run(thread_id: str, text: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(answers, claims) of one thread, as frames."""
    answers = segment(thread_id, text)
    return pd.DataFrame(answers), pd.DataFrame(extract(answers, text))


# The keyword stance script: the yardstick of stance figures. It does not read the question.
STANCE_AGAINST = re.compile(r"\b(?:no|not|never|cannot|temporar\w*|wears? off|wore off|wearing off|returns?|"
                            r"back to normal|recover\w*|regain\w*|reversible)\b|n't\b", re.IGNORECASE)
STANCE_FAVOR = re.compile(r"\b(?:yes|permanent\w*|atroph\w*|weaker|shrink\w*|smaller|less|longer|cumulative|"
                          r"build up)\b", re.IGNORECASE)


def keyword_stance(text: str) -> str:
    """'against' for a negation or a word of wearing off, else 'favor' for a word of lasting, else 'neutral'."""
    if STANCE_AGAINST.search(text):
        return "against"
    return "favor" if STANCE_FAVOR.search(text) else "neutral"


def keyword_answer_stance(claim_labels: list[str]) -> str:
    """The most frequent keyword label of an answer's claims; neutral for none or a tie."""
    counts = pd.Series(claim_labels).value_counts()
    if counts.empty or (len(counts) > 1 and counts.iloc[0] == counts.iloc[1]):
        return "neutral"
    return str(counts.index[0])
