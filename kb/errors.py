"""Errors users can act on: each message is one line saying what happened and what to do.

The CLI prints the message alone (no traceback) and exits non-zero; the app shows it with
`st.error`.
"""

from __future__ import annotations


class KbError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class StoreMissing(KbError):
    """The knowledge base has not been built in the data directory."""


class StoreUnavailable(KbError):
    """The vector store cannot be opened or reached."""


class BadQuery(KbError):
    """A search or filter argument is out of range or empty."""


class UnknownFilterValue(BadQuery):
    """A filter names a value that does not exist; the message lists the valid ones."""


class ReviewError(KbError):
    """A review decision is invalid (unknown action/polarity/category, no coder) or cannot be stored."""


class EmbedderUnavailable(KbError):
    """An embedding backend cannot be loaded: package not installed or model not on this machine."""


class BadEmbedderSpec(EmbedderUnavailable):
    """The embedding model setting names no known backend; the message lists the valid forms."""
