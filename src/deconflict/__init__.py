"""deconflict: the channel that parties who do not talk use to avoid harming each other."""

__all__ = ["__version__"]

__version__ = "0.1.0"
