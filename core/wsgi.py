"""WSGI entry point of an installed Nebulo: ``gunicorn 'core.wsgi:app'``. Configuration comes
from the environment."""

from core.app import create_app
from core.jobs.dispatchers import serve_jobs

app = create_app()
# Without Redis the jobs run beside this server (in a child process unless NEBULO_JOB_PROCESS=0):
# start them now, so that jobs an earlier process left behind are recovered at once. With
# Redis it does nothing: `nebulo worker` runs the jobs.
serve_jobs(app)
