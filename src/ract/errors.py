"""Errors that mean "the user asked for something that cannot work".

The CLI turns a :class:`RactError` into a one-paragraph message and exit code 2, never a traceback.
Anything else that escapes is a bug in ract and keeps its traceback.
"""


class RactError(Exception):
    """A user mistake: bad file, bad column, bad option value. The message says what and where."""
