"""WSGI entry point from a checkout: ``gunicorn 'wsgi:app'``; an installed Nebulo uses
``core.wsgi:app``, the same app."""

from core.wsgi import app

__all__ = ["app"]
