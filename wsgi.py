"""WSGI entry point: ``gunicorn 'wsgi:app'``. Configuration comes from the environment."""

from core.app import create_app

app = create_app()
# Without Redis the jobs run in this process: start the pool so that jobs an earlier process
# left behind are recovered now, not at the first new job. With Redis it does nothing.
app.extensions["nebulo"].jobs.start()
