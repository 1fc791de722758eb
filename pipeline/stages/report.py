"""The analyst's view of a run: what do the experts say, at a glance, traceable to the sentences.

``claims report`` reads a run's answers.csv and claims.csv and writes one
self-contained HTML file (figures embedded, no network needed; every piece of
input text escaped) and the figures as PNG files.

The charts, the duration ranges and the tables' counts are of what the experts
say. The asker's own sentences (claims with role "question": "I've had Botox
twice a year") take no stance; the report shows them apart, in the thread
table's "the asker says" column and a table of their own.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.io.figures import png_bytes, pyplot
from pipeline.io.files import error_frame
from pipeline.io.outputs import frame_of, read_tables
from pipeline.schemas import ASKER, CLAIM_TYPES, NONE, OPEN, STANCES, YES_NO, table_file

ANSWER_WORD = {"against": "against (no)", "favor": "in favour (yes)", "neutral": "neutral"}
CONTEXT_CHARS = 300
# Limits that keep the report readable on many thousand threads (everything stays in the CSVs).
MAX_THREAD_ROWS = 500  # rows of the thread table, most disputed first
MAX_THREAD_FIGURES = 20  # per-thread duration figures and bars in the stance figure
MAX_EVIDENCE_ROWS = 3000  # claims in the evidence table, most disputed threads first
MAX_LABELLED_RANGES = 60  # above this, the pooled duration figure draws thin unlabelled lines
MAX_ERROR_ROWS = 200  # rows of the skipped-input table
MAX_ASKER_SENTENCES = 3  # per thread in the thread table's "the asker says" (all are in the askers' table)
MAX_ASKER_CHARS = 160  # of each of those sentences


def is_askers(claims: pd.DataFrame) -> pd.Series:
    """Per claim row, whether it is the asker's own (role "question"); a table without roles has none."""
    if "role" not in claims:
        return pd.Series(False, index=claims.index)
    return claims["role"].eq(ASKER)


def load_run(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """answers.csv and claims.csv of a run's folder as one set, checked against its manifest (for notebooks)."""
    names = [table_file("answers"), table_file("claims")]
    data = read_tables(Path(out), names)
    return frame_of(data[names[0]]), frame_of(data[names[1]])


NO_STANCE = {OPEN: "no stance: an open question (nothing to be for or against)",
             NONE: "no stance: no question found (give the proposition by hand)"}


def counted(n: int, noun: str) -> str:
    """A count and its noun, agreeing: "1 thread", "2 threads", "1,200 claims"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _verb(n: int, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


def _no_stance_note(overview: pd.DataFrame) -> str:
    """Why some threads' answers carry no stance."""
    open_ = int(overview["consensus"].eq(NO_STANCE[OPEN]).sum())
    missing = int(overview["consensus"].eq(NO_STANCE[NONE]).sum())
    if not open_ and not missing:
        return ""
    return (f"<p>{counted(open_, 'thread')} {_verb(open_, 'asks', 'ask')} an open question (how long, when, what) "
            f"and {missing:,} {_verb(missing, 'has', 'have')} no question the pipeline could read: their answers and "
            "claims carry no stance, since there is no yes/no proposition to be for or against. A proposition given "
            "by hand (see the README) gives them one.</p>")


TIES_NOTE = ("Disagreement is how evenly a thread's answers split over against, in favour and neutral (0: all agree, "
             "1: evenly split over the three). Threads tied on it come by their number of claims, most first, "
             "then by thread id.")


def _asker_says(claims: pd.DataFrame) -> pd.Series:
    """Per thread with any, the asker's own claim sentences: distinct, in page order, the first few, each cut short."""
    def joined(texts: pd.Series) -> str:
        distinct = list(dict.fromkeys(texts))
        shown = [t if len(t) <= MAX_ASKER_CHARS else t[:MAX_ASKER_CHARS - 1].rstrip() + "\u2026"
                 for t in distinct[:MAX_ASKER_SENTENCES]]
        more = len(distinct) - len(shown)
        return " / ".join(shown) + (f" (and {more} more)" if more else "")

    askers = claims[is_askers(claims)].sort_values(["thread_id", "char_start"], kind="mergesort")
    return askers["text"].astype(str).groupby(askers["thread_id"], sort=False).agg(joined)


def thread_overview(answers: pd.DataFrame, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per thread: the question, answers by stance, a one-line consensus and a disagreement score.

    Disagreement is the normalised entropy of the answers' stances (0: all
    agree, 1: evenly split over the three); threads come most disputed first.
    Given the claims, the overview counts each thread's expert claims (the
    asker's own are not counted: they are quoted in `asker_says`), and breaks
    ties by that count (most first), then by thread id; without them, by
    thread id. A thread whose question is open or missing has no stance, and
    says so.
    """
    replies = answers[answers["role"] == "answer"]
    order = answers["thread_id"].drop_duplicates()
    heads = answers[answers["role"] == "question"].drop_duplicates("thread_id").set_index("thread_id")
    questions = heads["title"]
    kinds = heads["question_kind"].fillna("") if "question_kind" in heads else pd.Series(YES_NO, index=heads.index)
    replied = replies.groupby("thread_id").size()
    counts = pd.crosstab(replies["thread_id"], replies["stance"]) if len(replies) else pd.DataFrame()
    counts = counts.reindex(index=order, columns=list(STANCES), fill_value=0).fillna(0).astype(int)
    rows = []
    for thread_id, row in counts.iterrows():
        n, kind = int(replied.get(thread_id, 0)), kinds.get(thread_id, YES_NO)
        shares = row.to_numpy() / row.sum() if row.sum() else np.zeros(len(STANCES))
        nonzero = shares[shares > 0]
        disagreement = float(-(nonzero * np.log(nonzero)).sum() / np.log(len(STANCES))) if row.sum() else 0.0
        top = row.idxmax() if row.sum() else None
        if n and kind != YES_NO:
            consensus = NO_STANCE.get(kind, NO_STANCE[OPEN])
        else:
            consensus = f"{int(row.max())} of {counted(n, 'answer')}: {ANSWER_WORD[top]}" if top else "no answers"
        rows.append({"thread_id": thread_id, "question": questions.get(thread_id, ""), "answers": n,
                     **{s: int(row[s]) for s in STANCES}, "consensus": consensus,
                     "disagreement": round(disagreement, 3) + 0.0})  # + 0.0: never "-0.0"
    columns = ["thread_id", "question", "answers", *STANCES, "consensus", "disagreement"]
    frame = pd.DataFrame(rows, columns=columns)
    if claims is None:
        keys, ascending = ["disagreement", "thread_id"], [False, True]
    else:
        per_thread = claims[~is_askers(claims)].groupby("thread_id").size()
        frame.insert(3, "claims", frame["thread_id"].map(per_thread).fillna(0).astype(int))
        says = _asker_says(claims).to_dict()
        frame["asker_says"] = [says.get(t, "") for t in frame["thread_id"]]
        keys, ascending = ["disagreement", "claims", "thread_id"], [False, False, True]
    return frame.sort_values(keys, ascending=ascending, kind="mergesort").reset_index(drop=True)


EFFECT = "effect"  # the duration kind the pooled ranges and the charts are about (schemas.DURATION_KINDS)


def stated_durations(claims: pd.DataFrame) -> pd.DataFrame:
    """Every expert's claim with a duration figure: its range in months, open ends marked, and what it measures.

    The asker's own claims (role "question") are left out: "I've had it twice a year" is not what the experts say.
    """
    claims = claims[~is_askers(claims)]
    stated = claims[claims[["duration_min_months", "duration_max_months"]].notna().any(axis=1)]
    kind = stated["duration_kind"].fillna(EFFECT) if "duration_kind" in stated else EFFECT
    return stated.assign(open_ended=stated["duration_max_months"].isna() & stated["duration_min_months"].notna(),
                         open_start=stated["duration_min_months"].isna(), duration_kind=kind)[
        ["thread_id", "answer_id", "claim_id", "text", "duration_min_months", "duration_max_months",
         "open_ended", "open_start", "stance", "duration_kind"]].reset_index(drop=True)


def duration_text(low, high) -> str:
    """A stated duration readably: "3\u20134 months", "1 month", "6 months or more", "up to 4 months"; "" if none."""
    low = None if low is None or pd.isna(low) else float(low)
    high = None if high is None or pd.isna(high) else float(high)
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        figure, last = (f"{low:g}", low) if low == high else (f"{low:g}\u2013{high:g}", high)
        return f"{figure} month{'' if last == 1 else 's'}"
    if high is None:
        return f"{low:g} month{'' if low == 1 else 's'} or more"
    return f"up to {high:g} month{'' if high == 1 else 's'}"


def _sort_key(low, high) -> str:
    """A duration's place when the evidence is sorted by it: its lower bound, else its upper one; "" if none."""
    value = low if pd.notna(low) else high
    return "" if pd.isna(value) else repr(float(value))


def answer_names(answers: pd.DataFrame) -> pd.Series:
    """Each answer's title, by answer_id; "answer N" (N its position in the thread) for one without, "question"."""
    titles = answers["title"].map(lambda t: "" if pd.isna(t) else str(t))
    positions = answers["position"] if "position" in answers else pd.Series(range(len(answers)), index=answers.index)
    fallback = [("question" if role == "question" else f"answer {int(position)}") if pd.notna(position) else "answer"
                for role, position in zip(answers["role"], positions)]
    names = [title if title.strip() else name for title, name in zip(titles, fallback)]
    return pd.Series(names, index=answers["answer_id"].to_numpy(), dtype=object)


def median_range(durations: pd.DataFrame) -> tuple[float | None, float | None]:
    """The median lower bound and the median upper bound of the stated ranges."""
    low, high = durations["duration_min_months"].dropna(), durations["duration_max_months"].dropna()
    return (float(low.median()) if len(low) else None, float(high.median()) if len(high) else None)


def types_by_answer(claims: pd.DataFrame) -> pd.DataFrame:
    """Per claim type: how many of the experts' claims, and which answers make it with what stance."""
    claims = claims[~is_askers(claims)]
    rows = []
    for claim_type in CLAIM_TYPES:
        of_type = claims[claims["claim_type"] == claim_type]
        per_answer = of_type.groupby("answer_id", sort=False)["stance"].agg(
            lambda s: s.value_counts().sort_index().idxmax() if s.notna().any() else "")
        rows.append({"claim_type": claim_type, "claims": len(of_type), "answers": len(per_answer),
                     **{s: int((of_type["stance"] == s).sum()) for s in STANCES},
                     "answers_and_stance": "; ".join(f"{a} ({s})" for a, s in per_answer.items())})
    return pd.DataFrame(rows)


# ---- figures -------------------------------------------------------------------------------------------

def durations_figure(durations: pd.DataFrame, title: str) -> bytes:
    """One horizontal bar per stated duration, min to max months; open ends drawn as arrows; the median range shaded."""
    plt = pyplot()
    n = max(len(durations), 1)
    labelled = n <= MAX_LABELLED_RANGES
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.28 * n if labelled else 6))
    width = 4 if labelled else max(0.3, 300 / n)
    bounds = durations[["duration_min_months", "duration_max_months"]].to_numpy(dtype=float)
    finite = bounds[~np.isnan(bounds)]
    # many ranges: sorted by where they start, and the axis cut at the 95th percentile so a few long ones do not squash the rest
    if not labelled:
        durations = durations.sort_values(["duration_min_months", "duration_max_months"], kind="mergesort",
                                          na_position="first")
    top = float(finite.max() if labelled else np.percentile(finite, 95)) if finite.size else 12.0
    right = max(12.0, top * 1.3)
    low, high = median_range(durations)
    if low is not None and high is not None:
        axes.axvspan(low, high, color="#dddddd", label=f"median range {duration_text(low, high)}")
    colours = {"favor": "#2b8a3e", "against": "#c92a2a", "neutral": "#868e96"}
    for y, row in enumerate(durations.itertuples()):
        start = min(row.duration_min_months, right) if pd.notna(row.duration_min_months) else 0.0
        end = min(row.duration_max_months, right) if pd.notna(row.duration_max_months) else right * 0.95
        colour = colours.get(row.stance, "#1c7ed6")
        if row.open_ended:
            axes.annotate("", xy=(end, y), xytext=(start, y),
                          arrowprops={"arrowstyle": "->", "color": colour, "lw": min(2, width)})
        elif row.open_start:
            axes.annotate("", xy=(0, y), xytext=(end, y), arrowprops={"arrowstyle": "->", "color": colour, "lw": min(2, width)})
        else:
            axes.plot([start, end], [y, y], color=colour, lw=width, solid_capstyle="butt")
            if start == end:
                axes.plot([start], [y], marker="|", color=colour, markersize=12 if labelled else 2)
    if labelled:
        names = durations["label"] if "label" in durations else durations["answer_id"]
        axes.set_yticks(range(len(durations)), [str(name)[:70] for name in names], fontsize=7)
    else:
        axes.set_yticks([])
        axes.set_ylabel(f"{n:,} stated durations")
    axes.set_xlim(0, right)
    axes.set_ylim(-1, n)
    axes.invert_yaxis()
    axes.set_xlabel("months; colour: the claim's stance (green favor, red against, grey neutral); arrows: open-ended")
    axes.set_title(title, fontsize=10)
    if low is not None and high is not None:
        axes.legend(fontsize=7, loc="lower right")
    return png_bytes(figure)


def stacked_figure(table: pd.DataFrame, label_column: str, title: str) -> bytes:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.35 * max(len(table), 1)))
    left = np.zeros(len(table))
    colours = {"favor": "#2b8a3e", "against": "#c92a2a", "neutral": "#868e96"}
    labels = [str(x)[:60] for x in table[label_column]]
    for stance in STANCES:
        values = table[stance].to_numpy(dtype=float) if len(table) else np.zeros(0)
        axes.barh(labels, values, left=left, color=colours[stance], label=stance)
        left += values
    axes.invert_yaxis()
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7, loc="lower right")
    axes.tick_params(axis="y", labelsize=7)
    return png_bytes(figure)


# ---- HTML ----------------------------------------------------------------------------------------------

def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def evidence_rows(answers: pd.DataFrame, claims: pd.DataFrame) -> list[dict]:
    """Each claim with its answer's text around it, the sentence marked (all text escaped), and its duration."""
    by_id = answers.set_index("answer_id")
    names = answer_names(answers)
    rows = []
    for claim in claims.itertuples():
        answer = by_id.loc[claim.answer_id]
        in_title = answer["title_start"] <= claim.char_start < answer["title_end"]
        base, text = (answer["title_start"], answer["title"]) if in_title else (answer["char_start"], answer["text"])
        text = "" if pd.isna(text) else str(text)
        start, end = int(claim.char_start - base), int(claim.char_end - base)
        before = text[max(0, start - CONTEXT_CHARS):start]
        after = text[end:end + CONTEXT_CHARS]
        context = (("&hellip;" if start > CONTEXT_CHARS else "") + html.escape(before) + "<mark>"
                   + html.escape(text[start:end]) + "</mark>" + html.escape(after)
                   + ("&hellip;" if end + CONTEXT_CHARS < len(text) else ""))
        rows.append({"thread_id": claim.thread_id, "answer_id": claim.answer_id, "claim_id": claim.claim_id,
                     "claim_type": claim.claim_type, "stance": claim.stance if isinstance(claim.stance, str) else "",
                     "score": "" if pd.isna(claim.stance_score) else f"{claim.stance_score:.2f}",
                     "score_sort": "" if pd.isna(claim.stance_score) else repr(float(claim.stance_score)),
                     "negated": str(claim.negated), "hedged": str(claim.hedged), "context": context,
                     "answer_title": names[claim.answer_id],
                     "untitled": pd.isna(answer["title"]) or not str(answer["title"]).strip(),
                     "duration": duration_text(claim.duration_min_months, claim.duration_max_months),
                     "duration_sort": _sort_key(claim.duration_min_months, claim.duration_max_months),
                     "duration_kind": "" if pd.isna(kind := getattr(claim, "duration_kind", None)) else str(kind)})
    return rows


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f1f3f5}mark{background:#ffe066}.muted{color:#666}img{max-width:100%}
.filters select,.filters input{margin-right:1em}#evidence th{cursor:pointer}#evidence th[aria-sort]::after{content:" \u2195"}
#evidence th[aria-sort=ascending]::after{content:" \u2191"}#evidence th[aria-sort=descending]::after{content:" \u2193"}"""

# Filters, search and sorting of the evidence table. Its state lives in the page's address
# (report.html#search=atrophy&claimType=duration&sort=-score, a minus for descending): read when the page opens,
# written back (history.replaceState, no new history entry) whenever a filter, the search or the sort changes, so
# the address of a view shares it. A sort starts from the page's own order and keeps it among ties, so the same
# address gives the same rows in the same order however the view was reached.
_SCRIPT = """const body=document.querySelector('#evidence tbody'),rows=[...body.rows];
const heads=[...document.querySelectorAll('#evidence th')],selects=[...document.querySelectorAll('.filters select')];
const search=document.getElementById('search'),shown=document.getElementById('shown');
function applyFilters(){const words=search.value.trim().toLowerCase();let n=0;
rows.forEach(r=>{let show=selects.every(s=>!s.value||r.dataset[s.name]===s.value);
if(words&&!r.textContent.toLowerCase().includes(words))show=false;r.style.display=show?'':'none';if(show)n++;});
shown.textContent=n+' of '+rows.length+(rows.length===1?' claim':' claims')+' shown';}
function key(r,i){const c=r.children[i];
if(c.dataset.sort!==undefined)return c.dataset.sort===''?[2,'']:[0,Number(c.dataset.sort)];
const v=c.textContent.trim(),x=parseFloat(v);return v===''?[2,'']:!isNaN(x)&&String(x)===v?[0,x]:[1,v.toLowerCase()];}
function sortRows(th,up){heads.forEach(h=>h.setAttribute('aria-sort','none'));let order=rows;
if(th){th.setAttribute('aria-sort',up?'ascending':'descending');const i=heads.indexOf(th);
order=rows.map((r,n)=>[key(r,i),n,r]).sort((a,b)=>a[0][0]-b[0][0]
||(a[0][1]<b[0][1]?-1:a[0][1]>b[0][1]?1:0)*(up?1:-1)||a[1]-b[1]).map(e=>e[2]);}
order.forEach(r=>body.appendChild(r));}
function address(){const p=new URLSearchParams();if(search.value)p.set('search',search.value);
selects.forEach(s=>{if(s.value)p.set(s.name,s.value);});const th=heads.find(h=>h.getAttribute('aria-sort')!=='none');
if(th)p.set('sort',(th.getAttribute('aria-sort')==='descending'?'-':'')+th.textContent.trim());return p.toString();}
function remember(){const state=address();
try{history.replaceState(history.state,'',location.href.split('#')[0]+(state?'#'+state:''));}catch(e){}}
heads.forEach(th=>th.addEventListener('click',()=>{
sortRows(th,th.getAttribute('aria-sort')!=='ascending');remember();}));
selects.forEach(s=>s.addEventListener('change',()=>{applyFilters();remember();}));
search.addEventListener('input',()=>{applyFilters();remember();});
const wanted=new URLSearchParams(location.hash.slice(1));
selects.forEach(s=>{const v=wanted.get(s.name);if(v!==null&&[...s.options].some(o=>o.value===v))s.value=v;});
if(wanted.has('search'))search.value=wanted.get('search');
const by=wanted.get('sort')||'',sorted=heads.find(h=>h.textContent.trim()===by.replace(/^-/,''));
sortRows(by&&sorted?sorted:null,!by.startsWith('-'));
applyFilters();"""


def skipped_section(errors: pd.DataFrame | None) -> str:
    """What the run could not read (errors.csv), so the figures are not taken for the whole input."""
    if errors is None or errors.empty:
        return "<h2>Skipped input</h2><p>Every input file was read.</p>"
    shown = errors.head(MAX_ERROR_ROWS).astype(object).fillna("")
    return ("<h2>Skipped input</h2>"
            f"<p>{len(errors):,} input item{'s' if len(errors) != 1 else ''} could not be read and "
            f"{'are' if len(errors) != 1 else 'is'} not in the figures (all in errors.csv):</p>"
            + _limit_note(len(shown), len(errors), "skipped items", most_disputed=False)
            + _table(shown.assign(line=shown["line"].map(lambda v: "" if v == "" else str(int(v))))))


def durations_table(durations: pd.DataFrame, table_id: str = "durations") -> str:
    """Each stated duration readably: thread, answer title, range, what it measures; the sentence on hover."""
    body = []
    for row in durations.head(MAX_EVIDENCE_ROWS).itertuples():
        span = duration_text(row.duration_min_months, row.duration_max_months)
        body.append(f"<tr title=\"{html.escape(row.text)}\"><td>{html.escape(str(row.thread_id))}</td>"
                    f"<td>{html.escape(str(row.answer_title))}</td><td>{html.escape(span)}</td>"
                    f"<td>{html.escape(str(row.duration_kind))}</td>"
                    f"<td>{html.escape(row.stance if isinstance(row.stance, str) else '')}</td></tr>")
    return (f"<table id='{table_id}'><thead><tr><th>thread</th><th>answer</th><th>stated duration</th><th>kind</th>"
            "<th>stance</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def askers_section(askers: pd.DataFrame, thread_order: dict) -> str:
    """The asker's own claims, apart: one row per claim, threads in the thread table's order, page order within."""
    if askers.empty:
        return ""
    ordered = askers.assign(_order=askers["thread_id"].map(thread_order)).sort_values(
        ["_order", "char_start", "claim_id"], kind="mergesort")
    shown = ordered.head(MAX_EVIDENCE_ROWS)
    body = []
    for row in shown.itertuples():
        kind = getattr(row, "duration_kind", None)
        body.append(f"<tr><td>{html.escape(str(row.thread_id))}</td><td>{html.escape(str(row.text))}</td>"
                    f"<td>{html.escape(str(row.claim_type))}</td>"
                    f"<td>{html.escape(duration_text(row.duration_min_months, row.duration_max_months))}</td>"
                    f"<td>{'' if pd.isna(kind) else html.escape(str(kind))}</td></tr>")
    threads = askers["thread_id"].nunique()
    return ("<h2>What the askers say</h2>"
            f"<p>{counted(len(askers), 'claim')} in {counted(threads, 'thread')} {_verb(len(askers), 'is', 'are')} "
            "the askers' own sentences, not the experts'. They take no stance and are not in the charts, "
            "the duration ranges, the claim-type table nor the evidence: those are what the experts say.</p>"
            + _limit_note(len(shown), len(askers), "askers' claims")
            + "<table id='askers'><thead><tr><th>thread</th><th>the asker says</th><th>type</th>"
            "<th>duration</th><th>kind</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def _select(label: str, key: str, values) -> str:
    """A filter over the evidence rows' data-* attribute whose dataset key is `key`."""
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
    return f'<label>{label} <select name="{key}"><option value="">all</option>{options}</select></label>'


def _limit_note(shown: int, total: int, what: str, most_disputed: bool = True) -> str:
    if shown >= total:
        return ""
    which = " of the most disputed threads" if most_disputed else ""
    return (f"<p class='muted'>The {shown:,} of {total:,} {what}{which} {_verb(shown, 'is', 'are')} shown; "
            "all are in the CSV files.</p>")


MAX_SHOWN_ID_CHARS = 120


def shown_id(value):
    """An id as the report shows it: whole up to 120 characters, else its start and a hash that keeps it unique.

    A thread id of a million characters once made the figures take minutes and
    gigabytes (a title and tick labels that long); the CSVs keep every id whole.
    """
    if not isinstance(value, str) or len(value) <= MAX_SHOWN_ID_CHARS:
        return value
    import hashlib

    return f"{value[:100]}\u2026{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()[:8]}"


def build_report(answers: pd.DataFrame, claims: pd.DataFrame,
                 errors: pd.DataFrame | None = None) -> tuple[str, dict[str, bytes]]:
    """The HTML text and the figures (name -> PNG bytes)."""
    ids = ["thread_id", "answer_id", "claim_id"]
    answers = answers.assign(**{c: answers[c].map(shown_id) for c in ids if c in answers})
    claims = claims.assign(**{c: claims[c].map(shown_id) for c in ids if c in claims})
    overview = thread_overview(answers, claims)
    # the asker's own claims are shown apart; every chart, range and count below is of the experts' claims
    asker_rows = is_askers(claims)
    askers, claims = claims[asker_rows], claims[~asker_rows]
    stated = stated_durations(claims)
    stated = stated.assign(answer_title=stated["answer_id"].map(answer_names(answers)).fillna(""))
    stated = stated.assign(label=stated["thread_id"].astype(str).str.slice(0, 30) + " \u00b7 "
                           + stated["answer_title"].str.slice(0, 36))
    # the pooled range and the charts are of how long the effect lasts; intervals, recovery and onset apart
    durations, other_lengths = stated[stated["duration_kind"] == EFFECT], stated[stated["duration_kind"] != EFFECT]
    types = types_by_answer(claims)
    low, high = median_range(durations)
    top = overview.head(MAX_THREAD_FIGURES)
    figures = {
        "answers_by_stance.png": stacked_figure(top, "question", "Answers by stance, most disputed thread first"),
        "durations.png": durations_figure(durations, "Stated durations of the effect, every expert's claim, pooled"),
        "claim_types.png": stacked_figure(types, "claim_type", "Claims by type and stance"),
    }
    thread_figure = {}  # file names by position, never from a thread id (ids can hold any character)
    for position, thread_id in enumerate(top["thread_id"], 1):
        if (durations["thread_id"] == thread_id).any():
            thread_figure[thread_id] = f"durations_thread_{position:04d}.png"
            figures[thread_figure[thread_id]] = durations_figure(
                durations[durations["thread_id"] == thread_id], f"Stated durations: {thread_id}")
    shown_threads = overview.head(MAX_THREAD_ROWS)
    # the asker's column only where some thread has the asker's own claims
    thread_table = shown_threads.drop(columns=[] if len(askers) else ["asker_says"]).rename(
        columns={"disagreement": "disagreement (0-1)", "asker_says": "the asker says"})
    evidence_order = {t: i for i, t in enumerate(overview["thread_id"])}
    evidence = claims.assign(_order=claims["thread_id"].map(evidence_order)).sort_values(
        "_order", kind="mergesort").head(MAX_EVIDENCE_ROWS)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>What do the experts say?</title>"
             f"<style>{_STYLE}</style></head><body>",
             "<h1>What do the experts say?</h1>",
             f"<p class='muted'>{counted(len(overview), 'thread')}, "
             f"{counted(int(overview['answers'].sum()), 'answer')}, {counted(len(claims), 'claim')}"
             + (f" by the experts and {len(askers):,} by the askers (shown apart)" if len(askers) else "")
             + ". Stance is toward each thread's question read as a yes/no proposition.</p>",
             _no_stance_note(overview),
             "<h2>Threads, most disputed first</h2>",
             f"<p class='muted'>{TIES_NOTE}</p>",
             _limit_note(len(shown_threads), len(overview), "threads"),
             _table(thread_table),
             _img(figures["answers_by_stance.png"], "answers by stance per thread"),
             askers_section(askers, evidence_order),
             "<h2>Durations</h2>",
             f"<p>{counted(len(durations), 'claim')} {_verb(len(durations), 'states', 'state')} how long the "
             "effect lasts. Median range: "
             + (duration_text(low, high) if low is not None and high is not None else "not enough figures")
             + f"; {int(durations['open_ended'].sum())} open-ended.</p>",
             _img(figures["durations.png"], "stated durations pooled"),
             _limit_note(min(len(durations), MAX_EVIDENCE_ROWS), len(durations), "stated durations"),
             durations_table(durations),
             "<h3>Other stated lengths</h3>",
             f"<p>{counted(len(other_lengths), 'claim')} {_verb(len(other_lengths), 'states', 'state')} another "
             "length: the interval between treatments, recovery after stopping, or the time until it starts working. "
             "Such lengths are not in the ranges above.</p>",
             durations_table(other_lengths, table_id="other-durations")]
    for thread_id, name in thread_figure.items():
        parts.append(f"<h3>{html.escape(thread_id)}</h3>")
        parts.append(_img(figures[name], f"stated durations {thread_id}"))
    parts += ["<h2>Claim types</h2>", _table(types), _img(figures["claim_types.png"], "claims by type and stance"),
              "<h2>Evidence</h2>",
              "<p>Each claim's sentence in its answer (click a column to sort; the claim id is on hover).</p>",
              _limit_note(len(evidence), len(claims), "claims"),
              "<div class='filters'><label>search <input type='search' id='search' "
              "placeholder='words in the sentence, title or thread'></label>"
              + _select("thread", "threadId", overview["thread_id"])
              + _select("claim type", "claimType", CLAIM_TYPES) + _select("stance", "stance", STANCES)
              + "<span id='shown' class='muted'></span></div>",
              "<table id='evidence'><thead><tr><th>thread</th><th>sentence, in its answer</th><th>type</th>"
              "<th>duration</th><th>kind</th><th>negated</th><th>hedged</th><th>stance</th><th>score</th></tr>"
              "</thead><tbody>"]
    for row in evidence_rows(answers, evidence):
        data = " ".join(f'data-{k.replace("_", "-")}="{html.escape(row[k])}"' for k in ("thread_id", "claim_type", "stance"))
        title = (f"<b class='muted'>{html.escape(row['answer_title'])}</b>" if row["untitled"]
                 else f"<b>{html.escape(row['answer_title'])}</b>")
        parts.append(f"<tr {data} title=\"{html.escape(row['claim_id'])}\"><td>{html.escape(row['thread_id'])}</td>"
                     f"<td>{title}<br>{row['context']}</td><td>{html.escape(row['claim_type'])}</td>"
                     f"<td data-sort=\"{row['duration_sort']}\">{html.escape(row['duration'])}</td>"
                     f"<td>{html.escape(row['duration_kind'])}</td><td>{html.escape(str(row['negated']))}</td>"
                     f"<td>{html.escape(str(row['hedged']))}</td><td>{html.escape(row['stance'])}</td>"
                     f"<td data-sort=\"{row['score_sort']}\">{row['score']}</td></tr>")
    parts += ["</tbody></table>", skipped_section(errors), f"<script>{_SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts), figures


def report_files(answers: pd.DataFrame, claims: pd.DataFrame, errors=None) -> dict[str, bytes]:
    """The `report` stage: report.html, its PNG figures and threads.json (every thread, whatever the limits)."""
    if errors is not None and not isinstance(errors, pd.DataFrame):
        errors = error_frame(errors)
    page, figures = build_report(answers, claims, errors)
    return {**figures, "report.html": page.encode("utf-8"),
            "threads.json": json.dumps(thread_overview(answers, claims).to_dict("records"), indent=2).encode()}
