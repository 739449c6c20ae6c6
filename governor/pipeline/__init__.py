"""The run as stages: sweep → evaluate → estimate → record (then plan → act → notify)."""
