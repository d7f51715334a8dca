"""Errors of the twin pipeline. They derive from ValueError so the CLI prints them without a traceback."""


class TwinInputError(ValueError):
    """Input the pipeline cannot use; the message says what to fix."""
