"""bench/synthetic.py's varied corpus: the speed bench's input, so its sentences must not repeat."""

import sys

from pipeline import config
from pipeline.io.readers import iter_threads
from pipeline.threads import ThreadSource

sys.path.insert(0, str(config.PROJECT_ROOT / "bench"))

from synthetic import write_varied_corpus  # noqa: E402


def test_the_varied_corpus_reads_as_threads_repeats_few_sentences_and_is_the_same_for_a_seed(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    threads, words, distinct = write_varied_corpus(first, 150)
    assert (threads, write_varied_corpus(second, 150)) == (150, (threads, words, distinct))
    assert first.read_bytes() == second.read_bytes()
    assert distinct > 0.95 and words > 150 * 100
    read = [t for t in iter_threads(first) if isinstance(t, ThreadSource)]
    assert len(read) == 150 and all(t.segments and len(t.segments) >= 3 for t in read)
