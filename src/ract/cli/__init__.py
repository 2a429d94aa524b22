"""The ``ract`` command (:mod:`ract.cli.main`), one module per sub-command.

Every sub-command's parser is built for ``ract --help``, so these modules import only light ones at the top
(argparse, numpy, :mod:`ract.cli.arguments`); torch, pandas and the like are imported inside the functions that
run a command. tests/test_cli.py checks that building the parser loads no torch.
"""
