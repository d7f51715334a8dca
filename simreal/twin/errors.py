"""Errors of the twin pipeline. They are InputErrors, so the CLI prints them without a traceback."""

from simreal.errors import InputError


class TwinInputError(InputError):
    """Input the pipeline cannot use; the message says what to fix."""
