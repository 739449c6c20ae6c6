"""Owner digests: one message per owner per ``[digest] schedule``.

``compose`` (pure) builds the channel-neutral ``Digest``; ``send`` reads the store, composes
one per owner, hands it to the channels and records it, once per schedule tick.
"""
