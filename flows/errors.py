"""Errors of the flow engine: bad definitions (a developer's bug) and bad state or results."""

from __future__ import annotations

from core.errors import KaziError


class FlowError(KaziError):
    """Base of every flow-engine error."""

    code = "flow_error"


class FlowDefinitionError(FlowError):
    """A flow file or catalog is invalid; ``details`` lists every problem found."""

    code = "flow_definition_error"


class FlowStateError(FlowError):
    """A saved session state cannot be resumed (unknown flow/node, wrong wait)."""

    code = "flow_state_error"


class IntentResultError(FlowError):
    """The host fed back an intent result of the wrong shape."""

    code = "intent_result_error"
