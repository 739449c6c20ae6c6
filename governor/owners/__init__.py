"""Owners: who owns each Neon resource, from the ``[owners]`` rules (issue 19).

``facts`` says what rules can know of a resource, ``match`` names its owner, ``stamp``
gives a run's findings their owner. Kept import-light: the config loader checks owner
references through ``match``.
"""
