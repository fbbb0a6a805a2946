"""Adapters between the hub and other systems' protocols: clients of the hub over its
API (the TAK gateway) and peers served beside it on the service (the F3548 DSS)."""
