"""WSGI entry point of an installed Nebulo: ``gunicorn 'core.wsgi:app'``. Configuration comes
from the environment."""

import gc

from core.app import create_app
from core.jobs.dispatchers import serve_jobs

app = create_app()
# The app's own objects (routes, schemas, mappers: some 150,000) live as long as the process:
# frozen, a full garbage collection no longer walks them (40 ms each, under every thread).
# A request allocates thousands of short-lived objects (a page of 50 orders): a higher young
# generation threshold collects them less often, for less time per request.
gc.freeze()
gc.set_threshold(100_000, 50, 100)
# Without Redis the jobs run beside this server (in a child process unless NEBULO_JOB_PROCESS=0):
# start them now, so that jobs an earlier process left behind are recovered at once. With
# Redis it does nothing: `nebulo worker` runs the jobs.
serve_jobs(app)
