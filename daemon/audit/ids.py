"""Identifiers that tie audit rows together: one `action_id` per action."""

import uuid


def new_action_id() -> str:
    """A fresh action id (32 lowercase hex characters) shared by an action's rows."""
    return uuid.uuid4().hex
