"""A thread written for the tests where the asker states a duration and a claim of their own, and a stub model.

The asker says "about 9 months" and "has shrunk"; the experts say 3-4 months and about 4 months. None of it is
copied from the annotated corpus.
"""

import numpy as np
import pandas as pd

from pipeline.schemas import STANCES

ASKER_DURATION = "Each treatment lasts about 9 months for me."
ASKER_ATROPHY = "My forehead muscle has shrunk a lot."
ASKER_SENTENCES = {ASKER_DURATION, ASKER_ATROPHY}
THREAD = {"id": "asker-says", "question_title": "Is Botox permanent after years of use?",
          "question_body": f"{ASKER_DURATION} {ASKER_ATROPHY} Will the results stay if I stop?",
          "answers": [{"title": "Not permanent",
                       "body": "Botox is not permanent. The effect lasts 3-4 months and the muscle recovers after "
                               "you stop."},
                      {"title": "It wears off",
                       "body": "Results usually last about 4 months. With repeated use some patients need fewer "
                               "units."}]}


class RecordingModel:
    """A stance model that answers from the sentence's length and records every sentence it is asked about."""

    classes_ = np.array(STANCES, dtype=object)

    def __init__(self):
        self.seen: list[str] = []

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        self.seen.extend(rows["text"].astype(str))
        lean = np.array([(len(t) % 7) / 10 for t in rows["text"].astype(str)])
        return np.stack([0.5 + lean / 2, 0.4 - lean / 2, np.full(len(lean), 0.1)], axis=1)


def asker_tables():
    """The thread's answers and claims as the segment and extract stages write them (no stance yet)."""
    import pipeline

    return pipeline.process(THREAD, model_dir=None)
