"""Training: tokens and cached features, the LoRA training loop, and the curriculum stage (:mod:`ract.training.robust`).

Only torch-free names live here, so that the command line can offer them without loading torch.
"""

#: What :func:`ract.training.robust.retrain` does with the flagged examples.
CURRICULA: tuple[str, ...] = ("remove", "relabel", "easy_first", "none")
