"""Adapters to other systems' protocols, built on the service like the API is."""
