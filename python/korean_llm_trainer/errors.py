"""Errors the trainer reports as a one-line message and a non-zero exit code."""


class TrainerError(Exception):
    """An error caused by the input (env, data, paths, image), reported without a traceback."""

    exit_code = 2


class ContractError(TrainerError):
    """An environment variable is missing or malformed."""


class DatasetError(TrainerError):
    """A dataset is missing, empty, or does not match the stage's format."""


class MissingDependencyError(TrainerError):
    """A heavy library the command needs is not installed in the image."""

    exit_code = 3
