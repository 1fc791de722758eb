"""Running stages: the declared graph, fingerprints and skipping, chunks in processes or on Dask."""
