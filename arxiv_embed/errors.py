"""The one exception type that stage scripts and the server turn into a one-line message."""


class PipelineError(Exception):
    """A user-facing problem (bad input, missing artifact, offline hub) with a message that names the fix."""


class ParamError(PipelineError, ValueError):
    """A params.yaml value that cannot work; stages report it in one line like any PipelineError."""
