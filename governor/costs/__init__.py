"""Neon's bill from its own meters: the storage unit's calibration and the bill, pure.

Why apart from ``governor.savings``: savings price what a finding would change; this
package prices what Neon metered (the consumption API's series), line by line, the way
Neon's invoice does (notes/neon-costs.md §1.4, §3.6). No I/O: the reader, the store and the
``costs`` command hand it rows and facts.
"""
