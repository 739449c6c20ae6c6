"""Neon's documented rules, stated once: pure data and checks, no I/O.

The planner, the executor's re-check and the bundled simulator all read these, so the governor
never proposes what Neon refuses and the simulator refuses what Neon refuses.
"""
