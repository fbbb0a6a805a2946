"""The tamper-evident ledger: an append-only Merkle log (RFC 9162) of every state change.

Both parties can check what the hub recorded without trusting the hub operator, so everything
here is pure computation over bytes: no I/O, no clocks, no globals.
"""

from deconflict.ledger import merkle

__all__ = ["merkle"]
