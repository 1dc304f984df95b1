"""Exception tree shared by the core and every plugin.

    PulseError
    ├── ConfigError            invalid configuration; carries one "path: reason" line per problem
    ├── PluginError            a plugin failed to load or broke its hook contract
    ├── SourceError            a data source could not be polled
    │   ├── SourceAuthError        credentials rejected (401), never reported as "offline"
    │   ├── SourcePermissionError  authenticated but lacking a privilege (403)
    │   ├── SourceTLSError         certificate verification or fingerprint pin failed
    │   ├── SourceConnectError     connection refused, DNS failure, timeout
    │   └── SourceResponseError    unexpected status or undecodable body
    ├── StorageError           the storage backend failed
    │   └── SchemaVersionError     the database was written by a newer Pulse
    ├── NotifyError            a notification could not be delivered
    └── TransferError          an export bundle could not be written or read

Plugins raise these (or subclasses of them) so the core can tell an auth problem
from a network problem without knowing the plugin. Errors from third-party
libraries are translated at the plugin boundary with ``raise ... from exc``.
"""

from __future__ import annotations


class PulseError(Exception):
    """Root of every error Pulse raises on purpose."""


class ConfigError(PulseError):
    """Invalid configuration.

    ``problems`` contains one ``"path: reason"`` line per problem so all of them
    can be reported at once.
    """

    def __init__(self, problems: list[str] | str) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PluginError(PulseError):
    """A plugin failed to import, register or honour its hook contract."""


class SourceError(PulseError):
    """A data source could not be polled.

    ``kind`` is a short, stable label used in metrics and connection health
    (``auth``, ``permission``, ``tls``, ``connect``, ``response``).
    """

    kind = "error"


class SourceAuthError(SourceError):
    kind = "auth"


class SourcePermissionError(SourceError):
    kind = "permission"


class SourceTLSError(SourceError):
    kind = "tls"


class SourceConnectError(SourceError):
    kind = "connect"


class SourceResponseError(SourceError):
    kind = "response"


class StorageError(PulseError):
    """The storage backend failed to read or write."""


class SchemaVersionError(StorageError):
    """The database schema is newer than this version of Pulse understands."""


class NotifyError(PulseError):
    """A notification could not be delivered; the message names the target without secrets."""


class TransferError(PulseError):
    """An export bundle could not be created, decrypted or applied."""
