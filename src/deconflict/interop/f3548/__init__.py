"""The ASTM F3548-21 DSS interface (strategic coordination) served by the hub."""

from deconflict.interop.f3548.routes import router_for

__all__ = ["router_for"]
