"""The stages: segment, extract, classify (and report), each a plain function over tables."""
