"""Errors the CLI reports as one clear line (no traceback): they describe bad input or a
failed run, and say what to do. Anything else is a bug and keeps its traceback.

Each explicit ``raise`` of a user-facing problem uses one of these. The three input kinds
also derive from the built-in they replace (ValueError, KeyError, FileNotFoundError), so
code that catches the built-in still works.
"""


class SimrealError(RuntimeError):
    pass


class InputError(SimrealError, ValueError):
    """A value given on the command line, in a config or in a file is invalid."""


class UnknownNameError(SimrealError, KeyError):
    """A name (task, robot, term, group) that does not exist; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class MissingFileError(SimrealError, FileNotFoundError):
    """A file or directory the user named does not exist."""
