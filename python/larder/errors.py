"""Larder's exceptions: one class per C++ StatusCode, all under LarderError.

The message is the C++ Status message, unchanged (it names the file, field,
column or row at fault). The extension module raises these by name.
"""


class LarderError(Exception):
    """Base class of every error the Larder engine reports."""


class InvalidArgumentError(LarderError, ValueError):
    """Bad user input: a definition, an argument, a request, a value."""


class NotFoundError(LarderError, LookupError):
    """A named object (view, feature, service, push source) or file does not exist."""


class AlreadyExistsError(LarderError):
    """Creating something that is already there."""


class FailedPreconditionError(LarderError):
    """The repo is not in a state that allows the call (e.g. a model not run yet)."""


class BusyError(LarderError):
    """A lock is held elsewhere (another apply, say)."""


class LarderIOError(LarderError, OSError):
    """The file system or a socket failed."""


class CorruptionError(LarderError):
    """Stored data does not parse."""


class InternalError(LarderError):
    """A bug in Larder: an invariant did not hold."""


__all__ = [
    "LarderError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "FailedPreconditionError",
    "BusyError",
    "LarderIOError",
    "CorruptionError",
    "InternalError",
]
