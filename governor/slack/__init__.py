"""Slack: run reports, approval buttons, snoozes and a slash command, fail-closed.

Every message goes through an outbox in the store (Slack being slow or down never blocks
a sweep or the remediation bookkeeping); interactivity arrives over Socket Mode (no public
URL); every click and command passes one authorization function (``authorize``).
"""
