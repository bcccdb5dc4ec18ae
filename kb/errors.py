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


class RunnerMissing(KbError):
    """The build stages (`pipelines/`) are not installed next to the library (kb.runner)."""


class BuildLocked(KbError):
    """Another build holds the data directory (the message names its PID)."""


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


class SourceError(KbError):
    """The report text given to the extraction stage cannot be used."""


class SourceNotFound(SourceError):
    """The source path does not exist, is not a file, or cannot be read."""


class SourceNotUtf8(SourceError):
    """The source file is not UTF-8 text."""


class SourceEmpty(SourceError):
    """The source file is empty or holds only whitespace."""


class SourceLayoutError(SourceError):
    """The source text lacks a section heading the extraction expects (wrong or altered report)."""


class CorpusMissing(KbError):
    """The corpus directory has no manifest or a document file it lists is missing."""


class InvalidCodebook(KbError):
    """The codebook YAML is malformed; the message names the entry and the problem."""


class CodebookMissing(InvalidCodebook):
    """The codebook file does not exist at the configured path."""


class ExportError(KbError):
    """An export cannot be produced: unknown format or unit, binary format without -o, bad output path."""


class IngestError(KbError):
    """`kb add` cannot run: unknown or inconsistent case, group or platform type, unwritable corpus."""


class CodebookImportError(KbError):
    """A REFI-QDA codebook (.qdc) cannot be read, or merging it would make the codebook invalid."""


class BadSetting(KbError):
    """A setting's value (environment variable or option) has the wrong type."""


class BadImportFile(KbError):
    """A file from outside (.qdpx, .docx, archive member) is malformed, too large or hostile."""


class AuthError(KbError):
    """Team mode cannot start or a user cannot be added: users file missing, malformed, or a bad name/role."""


class ModelRefused(KbError):
    """A saved coder model is not kb's own data: unknown format, changed file or a pickle."""


class TrainingDataError(KbError):
    """A training-data file (e.g. the retrieval questions for adapting e5) is malformed."""


class BadRerankModel(KbError):
    """The search reranker's coefficient file is missing, garbled, changed or from another kb version."""
