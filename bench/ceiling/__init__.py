"""The ceiling of the server stack: a trivial authenticated DRF endpoint that inserts one
row, served by the same gunicorn, middleware, authentication, permission, throttling and
database as order intake. Installed only by backoffice.settings_bench."""
