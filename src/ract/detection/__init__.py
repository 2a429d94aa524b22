"""Label-noise detection: RACT (:mod:`ract.detection.pipeline`), its settings (:mod:`ract.detection.config`), the
peer methods (:mod:`ract.detection.baselines`) and the comparison grid (:mod:`ract.detection.bench`).

Only torch-free names live here, so that the command line can offer them without loading torch.
"""

#: The peer methods, in the order of :data:`ract.detection.baselines.BASELINES` (a test checks that they agree).
BASELINE_NAMES: tuple[str, ...] = (
    "small_loss",
    "small_loss_final",
    "aum",
    "data_map",
    "cleanlab_cv",
    "cleanlab_embeddings",
    "coteaching",
)
#: Every method: RACT and the peers.
METHODS: tuple[str, ...] = ("ract", *BASELINE_NAMES)
#: The default run order: RACT first, then cleanlab_cv (the reference of the targets), then the other peers.
DEFAULT_METHODS: tuple[str, ...] = ("ract", "cleanlab_cv", *(m for m in BASELINE_NAMES if m != "cleanlab_cv"))
