"""HTTP + SSE over the service layer: thin, no business rules."""

from deconflict.api.app import create_app

__all__ = ["create_app"]
