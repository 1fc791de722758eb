"""Measuring against the annotated corpus: gold files, accuracy, baselines and stance evaluation."""
