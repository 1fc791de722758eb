"""Every regular expression of the rules, in code or in the rule files, on hostile lines: none backtracks for ever.

A breadcrumb pattern whose crumbs could also match its separators took
minutes on one line of 2,000 `<font>` tags (an HTML fragment pasted into a text
file): nested quantifiers over overlapping characters backtrack exponentially.
The check runs in a child process with a generous limit, so a regression fails
instead of hanging the suite.
"""

import subprocess
import sys

import pytest

PROBE = r'''
import importlib, pkgutil, re
import pipeline

UNITS = ["<font>", ">", "/", " / ", " > ", "\u00bb", " \u00bb ", "-", " - ", ":", "|", " ", ". ", "a ", "ab", "1", "1-",
         "(", ")", ",", "'", "*", "\u2022 ", "Dr. ", "x\t", "3 ", "month ", "no ", "\n", "? ", "a  >  "]
TAILS = ["", ". The effect wears off.", "!", "?", "\u2026"]
found = {}

def collect(obj, name, depth=0):
    if isinstance(obj, re.Pattern):
        found[name] = obj
    elif depth < 6 and isinstance(obj, dict):
        for key, value in obj.items():
            collect(value, f"{name}.{key}", depth + 1)
    elif depth < 6 and isinstance(obj, (list, tuple)):
        for k, value in enumerate(obj):
            collect(value, f"{name}[{k}]", depth + 1)
    elif depth < 6 and hasattr(obj, "__dataclass_fields__") and not isinstance(obj, type):
        for key in obj.__dataclass_fields__:
            collect(getattr(obj, key), f"{name}.{key}", depth + 1)

for info in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
    if info.name.endswith("__main__") or info.ispkg:
        continue
    module = importlib.import_module(info.name)
    for key, value in vars(module).items():
        collect(value, f"{info.name}.{key}")
    if callable(getattr(module, "load_lexicon", None)):
        collect(module.load_lexicon(), f"{info.name}.load_lexicon()")
assert len(found) > 50, len(found)
for name, pattern in found.items():
    print(name, flush=True)  # the last name printed is the one that hung
    for unit in UNITS:
        for tail in TAILS:
            pattern.search("No" + unit * 60 + tail)
print("done", len(found))
'''


@pytest.mark.slow  # every pattern on every hostile line, in a child process
def test_no_rule_pattern_backtracks_for_ever_on_hostile_lines():
    try:
        result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as err:
        hung = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        raise AssertionError(f"a pattern backtracks for ever: {hung.strip().splitlines()[-1:]}") from None
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1].startswith("done")
