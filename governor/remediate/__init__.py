"""Remediation: plan what to change, apply it through Neon's operations, crash-safe.

plan (pure) → journal (store) → execute (Neon) → follow operations → verify by re-reading.
"""
