"""The units Neon bills in (neon-costs.md §1.4, introduction/usage-calculations.md, 2026-05-28).

Why three constants: storage and branch fees are billed per GB-month of 744 hours (31 x 24)
on decimal GB, while compute is billed per CU-hour with no month normalization, so a
"month" of compute is the calendar average of 730 hours.
"""

from __future__ import annotations

BYTES_PER_GB = 10**9  # Neon bills decimal GB, not GiB
HOURS_PER_GB_MONTH = 744  # storage and branch fees: a GB-month is 744 GB-hours
HOURS_PER_MONTH = 730  # compute: an average month (8,760 h / 12)
