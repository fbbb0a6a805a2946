"""Alembic migrations of the hub database, shipped inside the package."""
