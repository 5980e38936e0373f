"""WSGI entry point: ``gunicorn 'wsgi:app'``. Configuration comes from the environment."""

from core.app import create_app

app = create_app()
