"""Errors the CLI reports as one clear line (no traceback): they describe bad input or a
failed run, and say what to do. Programming errors keep their tracebacks."""


class SimrealError(RuntimeError):
    pass
