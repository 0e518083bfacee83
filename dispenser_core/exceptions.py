"""The errors Dispenser raises, each saying what went wrong and what to do next."""


class DispenserError(Exception):
    """Base of every error Dispenser raises on purpose.

    ``transient`` tells a scheduler whether trying again later may help (a service that was
    down, a database connection cut) or whether the input must change first.
    """

    transient = False


class ConfigurationError(DispenserError):
    """A setting is missing or malformed."""


class InputFileError(DispenserError):
    """An input file cannot be read at all (missing, empty, binary, wrong columns)."""


class ValidationFailed(DispenserError):
    """A batch broke an expectation that makes the whole batch untrustworthy."""


class DraftError(DispenserError):
    """A draft cannot be created, changed or sent in its current state."""


class DatabaseError(DispenserError):
    """The database refused or lost a statement."""

    transient = True


class NotificationError(DispenserError):
    """The notification gateway refused a notice for good (a 4xx answer)."""


class GatewayUnavailable(NotificationError):
    """The notification gateway did not answer in time or answered 429/5xx after all retries."""

    transient = True


class AuditChainBroken(DispenserError):
    """A row of the audit log does not match the hash chain: it was changed or removed."""
