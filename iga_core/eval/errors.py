"""Typed errors of the evaluation package."""

from __future__ import annotations

from iga_core.errors import ExitCode, IgaInvalid, IgaIOError


class EvalConfigInvalid(IgaInvalid):
    """A protocol or demo configuration cannot be run as written (unknown axis, too few values, ...)."""


class UnknownDemoExperiment(EvalConfigInvalid):
    """`--only` names a demo experiment the demo plan does not have: the command line is wrong."""

    exit_code = ExitCode.USAGE


class EvalUnavailable(IgaIOError):
    """Something the evaluation needs is not installed or not on this machine (torch, weights, ...)."""


class EvalInterrupted(IgaInvalid):
    """The host asked the protocol to stop; the partial results were discarded."""

    exit_code = ExitCode.INTERRUPTED
