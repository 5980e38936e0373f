"""Sample gunicorn configuration for Nebulo: ``gunicorn -c deploy/gunicorn.conf.py``.

Threaded workers keep WebSocket connections (flask-sock) from blocking other requests. The
address comes from ``--bind`` (or gunicorn's own ``PORT``: ``0.0.0.0:$PORT``; without either,
127.0.0.1:8000); a command-line option overrides any value here.
"""

wsgi_app = "core.wsgi:app"
workers = 4
worker_class = "gthread"
threads = 8
# A request slower than this is a bug, not load: the worker is restarted.
timeout = 60
# Long enough for requests in flight (and their WebSocket goodbyes) to finish on a deploy.
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
