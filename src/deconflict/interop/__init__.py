"""Adapters between the hub and other systems' protocols (each a client or a peer of the hub)."""
