"""Learning from labels: the stance model's training, versions, weak labels and the labelling loop."""
