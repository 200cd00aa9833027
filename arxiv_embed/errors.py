"""The exception types that stage scripts and the server turn into a one-line message (a server: 404 or 422)."""


class PipelineError(Exception):
    """A user-facing problem (bad input, missing artifact, offline hub) with a message that names the fix."""


class ParamError(PipelineError, ValueError):
    """A params.yaml value that cannot work; stages report it in one line like any PipelineError."""


class UnknownPaper(PipelineError, LookupError):
    """A question names a paper the served index does not hold (the server's 404)."""


class UnanswerableQuery(PipelineError, ValueError):
    """A well-formed question the served bundle cannot answer, e.g. a library with nothing usable (the server's
    422)."""
