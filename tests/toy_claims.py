"""A toy set of labelled claims for fitting small stance models in tests."""

import numpy as np
import pandas as pd


def toy_claims(n_answers=6):
    texts = {
        "against": ["Results are not permanent and wear off", "The effect is temporary", "Function returns after stopping"],
        "favor": ["Muscles atrophy with repeated use", "You need less product over time", "Results last longer each time"],
    }
    rows, labels = [], []
    for a in range(n_answers):
        stance = "against" if a % 2 else "favor"
        for k, text in enumerate(texts[stance]):
            rows.append({"answer_id": f"t:{a}", "text": text, "claim_type": "duration", "negated": stance == "against",
                         "hedged": False, "duration_min_months": np.nan, "duration_max_months": np.nan,
                         "char_start": 100 * a + 10 * k})
            labels.append(stance)
    return pd.DataFrame(rows), pd.Series(labels)
