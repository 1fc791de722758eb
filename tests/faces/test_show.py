"""`claims show`: a file's threads with their claims, as text and as displaCy's span view."""

import html
import itertools
import json
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pipeline.faces import api, show
from pipeline.faces.cli import main

from conftest import FIXTURES

# written for these tests: a titled question, a titled answer with two paragraphs, an untitled answer; a negated,
# a hedged and three duration claims
THREAD = {"id": "t-show", "question_title": "Does Botox stop working after years?",
          "question_body": "I am 42 and have had Botox every 4 months since 2018.",
          "answers": [{"title": "It is not permanent",
                       "body": "Botox does not last forever. It wears off in 3 to 4 months.\n\n"
                               "Some people may need a lower dose after a few years."},
                      {"title": "", "body": "The effect lasts about 6 months or more (it wore off in 2 months for "
                                            "me). Your muscles will not shrink for good."}]}
HEADINGS = {0: "question \u00b7 Does Botox stop working after years?", 1: "answer 1 \u00b7 It is not permanent",
            2: "answer 2"}


def squeezed(text: str) -> str:
    return " ".join(str(text).split())


def written_thread(folder):
    """THREAD as a JSONL file in `folder`, and its claims and answers as the API finds them."""
    source = folder / "thread.jsonl"
    source.write_text(json.dumps(THREAD) + "\n", encoding="utf-8")
    tables = api.process(source, model_dir=None)
    return source, tables["claims"], tables["answers"]


def test_show_marks_every_claim_of_every_thread(tmp_path, capsys, small_models):
    source = next((FIXTURES / "formats").glob("*.jsonl"))
    page = tmp_path / "view.html"
    assert main(["show", str(source), "--html", str(page), "--models", str(small_models[0])]) == 0
    text = capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", "--input", str(source), "--out", str(out), "--models", str(small_models[0]),
                 "--train-input", str(small_models[2]), "--gold", str(small_models[1]),
                 "--gold-threads", str(small_models[2]), "--jobs", "1"]) in (0, 1)
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    for thread_id, rows in claims.groupby("thread_id"):
        assert f"{thread_id}: {len(rows)} claim{'' if len(rows) == 1 else 's'}" in text
    first = claims.iloc[0]
    assert f"[{first['claim_type']}" in text and f"({first['char_start']}-{first['char_end']})" in text
    assert claims["stance"].isin(["favor", "against", "neutral"]).any()  # with a model, the stance is labelled
    assert all(f"\u00b7 {s}] " in text for s in claims["stance"].unique() if s)
    view = page.read_text(encoding="utf-8")
    labels = [html.unescape(x) for x in re.findall(r'data-label="([^"]*)"', view)]  # one a claim
    assert len(labels) == len(claims)
    assert sorted(label.split(" \u00b7 ")[0] for label in labels) == sorted(claims["claim_type"])
    assert "<script" not in view.lower()


def test_show_without_stance_needs_no_model(tmp_path, capsys):
    page = FIXTURES / "formats"
    source = next(page.glob("*.txt"), None) or next(page.glob("*.html"))
    assert main(["show", str(source), "--no-stance", "--models", str(tmp_path / "none")]) == 0
    assert " claims" in capsys.readouterr().out


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
HOSTILE_ID = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def markup_page(tmp_path):
    """`claims show --html` of a thread whose id is markup that would run a script: the page written."""
    import json

    source = tmp_path / "threads.jsonl"
    source.write_text(json.dumps({"id": HOSTILE_ID, "question_title": "Is Botox permanent?", "question_body": "",
                                  "answers": [{"title": "No", "body": "It wears off in 3-4 months."}]}) + "\n")
    page = tmp_path / "view.html"
    assert main(["show", str(source), "--html", str(page), "--no-stance"]) == 0
    return page


def test_a_thread_id_that_is_markup_is_shown_as_text(tmp_path, capsys):
    """displaCy puts a page's title into its HTML unescaped: every value handed to it is escaped first."""
    view = markup_page(tmp_path).read_text(encoding="utf-8")
    assert "<img" not in view and html.escape(HOSTILE_ID) in view


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_a_thread_id_that_is_markup_runs_nothing_in_a_real_browser(tmp_path, capsys):
    dom = dump_dom(markup_page(tmp_path))
    assert "wears" in dom  # the page rendered
    assert 'data-pwned="1"' not in dom  # and its markup stayed text: it ran nothing


def test_escape_sequences_in_a_thread_or_a_file_name_never_reach_the_terminal_raw(tmp_path, capsys):
    escape = "\x1b]0;owned\x07\x1b[2J"
    folder = tmp_path / "in"
    folder.mkdir()
    page = folder / f"page{escape}.txt"
    page.write_text(f"Is Botox permanent? {escape}\n\nNo {escape}\n\nIt wears off in 3 months. {escape}\n")
    assert main(["show", str(page), "--no-stance"]) == 0
    shown = capsys.readouterr()
    assert "\x1b" not in shown.out + shown.err and "\\x1b]0;owned\\x07" in shown.out
    assert main(["segment", "--input", str(folder), "--out", str(tmp_path / "out")]) in (0, 1)
    assert "\x1b" not in capsys.readouterr().err


def dump_dom(page):
    """The page's DOM after its scripts ran in headless Chromium."""
    import subprocess

    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={page.parent / 'browser'}", "--dump-dom", page.as_uri()],
                            capture_output=True, text=True, timeout=60)
    return result.stdout


def screenshot(page, png, width: int = 1000, height: int = 1400):
    """A screenshot of the page's first `width` x `height` pixels in headless Chromium, written to `png`."""
    import subprocess

    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--hide-scrollbars", f"--user-data-dir={page.parent / 'browser'}",
                             f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
                            capture_output=True, text=True, timeout=60, check=False)
    assert png.exists(), result.stderr[-1000:]
    return png


# ---- the terminal view -----------------------------------------------------------------------------------

def row(claim_type="duration", low=None, high=None, kind=None, negated=False, hedged=False, stance=None):
    return SimpleNamespace(claim_type=claim_type, duration_min_months=low, duration_max_months=high,
                           duration_kind=kind, negated=negated, hedged=hedged, stance=stance)


@pytest.mark.parametrize("claim, label", [
    (row(low=3.0, high=4.0, kind="effect"), "duration \u00b7 3 to 4 months, effect"),
    (row(low=6.0, high=6.0, kind="interval"), "duration \u00b7 6 months, interval"),
    (row(low=1.0, high=1.0, kind="onset"), "duration \u00b7 1 month, onset"),
    (row(low=9.0, high=np.nan, kind="effect"), "duration \u00b7 9 months or more, effect"),
    (row(low=np.nan, high=3.68, kind="recovery"), "duration \u00b7 up to 3.68 months, recovery"),
    (row(low=np.nan, high=np.nan, kind="effect", hedged=np.bool_(True)),
     "duration \u00b7 no figure, effect \u00b7 hedged"),
    (row("reversibility", kind=pd.NA, negated=np.bool_(True), stance="against"),
     "reversibility \u00b7 negated \u00b7 against"),
    (row("atrophy", negated=True, hedged=True, stance=pd.NA), "atrophy \u00b7 negated \u00b7 hedged"),
    (row("atrophy", negated=pd.NA, hedged=np.bool_(False), stance=""), "atrophy"),
])
def test_a_claims_label_names_its_duration_kind_flags_and_stance(claim, label):
    """The flags as the claims table holds them (numpy or pandas booleans, missing values) are named when true."""
    assert show.claim_label(claim) == label


def test_the_terminal_shows_each_claims_flags_duration_and_answer(tmp_path, capsys):
    source, claims, answers = written_thread(tmp_path)
    assert claims["negated"].any() and claims["hedged"].any()  # the thread has what the view must show
    assert claims["duration_max_months"].notna().sum() >= 2 and (answers["title"] == "").sum() == 1
    assert main(["show", str(source), "--no-stance"]) == 0
    out = capsys.readouterr().out
    groups, heading = {}, None
    for line in out.splitlines()[1:]:
        if line.startswith("    "):
            groups[heading].append(line.strip())
        elif line.startswith("  "):
            heading = line.strip()
            groups[heading] = []
    positions = dict(zip(answers["answer_id"], answers["position"]))
    for claim in claims.itertuples():
        under = next(h for h in groups if h.startswith(HEADINGS[positions[claim.answer_id]] + ": "))
        ending = f"] {squeezed(claim.text)}  ({claim.char_start}-{claim.char_end})"
        line = next(x for x in groups[under] if x.endswith(ending) and x.startswith(f"[{claim.claim_type}"))
        parts = line[1:line.index("] ")].split(" \u00b7 ")
        assert ("negated" in parts) == bool(claim.negated) and ("hedged" in parts) == bool(claim.hedged), line
        if claim.claim_type == "duration" and pd.notna(claim.duration_max_months):
            stated = parts[1]
            assert f"{claim.duration_max_months:g} month" in stated and stated.endswith(f", {claim.duration_kind}")
            assert pd.isna(claim.duration_min_months) or f"{claim.duration_min_months:g}" in stated.split()[0]
    for position, heading in HEADINGS.items():
        count = int((claims["answer_id"].map(positions) == position).sum())
        assert f"{heading}: {count} claim{'' if count == 1 else 's'}" in groups
    assert [h.rsplit(": ", 1)[0] for h in groups] == list(HEADINGS.values())  # in the thread's order


# ---- the span view ---------------------------------------------------------------------------------------

def page_text(markup: str) -> str:
    """The text a page's markup shows (tags dropped, entities read, whitespace runs made one space)."""
    return squeezed(html.unescape(re.sub(r"<[^>]+>", "", markup)))


@pytest.mark.parametrize("text, spans", [
    ("I am 42 and have had Botox. It wears off.", [(0, 27, "duration")]),
    ("Botox is not permanent. It wears off in 3 to 4 months.", [(0, 23, "a"), (24, 54, "b"), (24, 54, "c")]),
    ("He said (it wears off in 3 months) and left.", [(9, 33, "duration")]),  # a claim right after '('
    ('"It lasts." Then "it fades."', [(1, 10, "a"), (18, 26, "b")]),
    ("It lasts.  Then it fades.", [(9, 25, "b")]),  # a claim's offsets taking in the spaces before it
    ("No claim in this one.\n\nNor here.", []),
])
def test_the_span_view_shows_the_text_with_its_own_spaces(text, spans):
    parsed = show.span_view(text, spans)
    assert "".join(parsed["tokens"]) == text
    marked = show.marked_text(text, 0, len(text), pd.DataFrame(
        [{"char_start": s, "char_end": e, "claim_type": label, "duration_min_months": np.nan,
          "duration_max_months": np.nan, "duration_kind": pd.NA, "negated": False, "hedged": False, "stance": pd.NA}
         for s, e, label in spans]))
    assert page_text(marked) == squeezed(text)  # no word run into the next, no space added before punctuation
    assert marked.count("data-label=") == len(spans)
    assert marked.count("\n") == text.count("\n")  # the text's line breaks, and no other (the page keeps them)


def test_each_answer_is_a_block_of_its_own_under_its_name(tmp_path, capsys):
    source, claims, _ = written_thread(tmp_path)
    page = tmp_path / "view.html"
    assert main(["show", str(source), "--html", str(page), "--no-stance"]) == 0
    view = page.read_text(encoding="utf-8")
    sections = re.findall(r'<section class="(\w+)" data-answer-id="([^"]*)">(.*?)</section>', view, re.DOTALL)
    assert [(kind, answer_id) for kind, answer_id, _ in sections] == [
        ("question", "t-show:0"), ("answer", "t-show:1"), ("answer", "t-show:2")]
    names = [re.search(r"<h3>(.*?)</h3>", body).group(1) for _, _, body in sections]
    assert names == ["question", "answer 1", "answer 2"]  # the untitled answer too
    assert "It is not permanent" in page_text(sections[1][2].split('<div class="answer-body">')[0])
    assert 'class="answer-title"' not in sections[2][2]
    shown = {answer_id: page_text(body) for _, answer_id, body in sections}
    for claim in claims.itertuples():
        assert squeezed(claim.text) in shown[claim.answer_id], claim.text  # marked in its own answer's block
        assert all(squeezed(claim.text) not in text for a, text in shown.items() if a != claim.answer_id)
    assert view.count("data-label=") == len(claims)
    body = sections[1][2].split('<div class="answer-body">')[1]
    assert "\n\n" in body  # the answer's paragraph break is kept (the page shows line breaks: white-space pre-line)


PROBE = """<script>
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const probe = {
  sections: [...document.querySelectorAll("section")].map(s => ({
    name: (s.querySelector("h3") || {}).textContent || "", answer: s.dataset.answerId, text: s.innerText,
    box: box(s)})),
  labels: [...document.querySelectorAll(".claim-label")].map(l => ({
    label: l.dataset.label, box: box(l), font: parseFloat(getComputedStyle(l).fontSize)})),
};
const out = document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify(probe);
document.body.appendChild(out);
</script>"""


def overlap(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_the_span_view_in_a_real_browser_keeps_spaces_blocks_and_labels_apart(tmp_path, capsys):
    """In headless Chromium: a screenshot (an artefact in the test's folder), and what the page shows measured."""
    source, claims, _ = written_thread(tmp_path)
    page = tmp_path / "view.html"
    assert main(["show", str(source), "--html", str(page), "--no-stance"]) == 0

    png = screenshot(page, tmp_path / "claims-show.png")
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (1000, 1400)
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    bars = {tuple(int(show.TYPE_COLOURS[t][i:i + 2], 16) for i in (1, 3, 5)) for t in claims["claim_type"]}
    assert bars <= colours  # every claim type's colour is drawn

    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = dump_dom(probed)
    found = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL).group(1)))
    sections = found["sections"]
    assert [s["name"] for s in sections] == ["question", "answer 1", "answer 2"]
    assert all(a["box"][3] <= b["box"][1] for a, b in itertools.pairwise(sections))  # blocks one under another
    # the text as the browser renders it (and copies it): spaces where the thread has them, and only there
    shown = {s["answer"]: re.sub(r"[ \t]+", " ", s["text"]) for s in sections}
    assert "I am 42 and have had Botox every 4 months since 2018." in shown["t-show:0"]
    for claim in claims.itertuples():
        assert re.sub(r"\s+", " ", claim.text) in shown[claim.answer_id], (claim.text, shown[claim.answer_id])
    assert "months.\n\nSome people" in shown["t-show:1"]  # the answer's paragraph break
    labels = found["labels"]
    assert len(labels) == len(claims)
    assert all(label["box"][3] - label["box"][1] < 2 * label["font"] for label in labels)  # each on one line
    assert not [(a["label"], b["label"]) for i, a in enumerate(labels) for b in labels[i + 1:]
                if overlap(a["box"], b["box"]) > 0.5]
