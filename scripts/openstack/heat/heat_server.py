"""Heat API + engine in one process that ends cleanly on SIGTERM.

Why not /usr/bin/heat-all: that wrapper comes with heat-common (not
installed, see install.sh), and after SIGTERM it stops the engine but then
waits on the API server forever, so every stop ended in SIGKILL. Here we
start the same services through heat.cmd.all and then wait on the engine's
oslo.service launcher only: it owns the SIGTERM/SIGINT handlers and returns
once the engine has stopped; the API's green threads die with the process.

Why foreign keys are switched on: Heat leaves them off for sqlite, so its
ON DELETE CASCADE rules never run there. Rows of resource_data then outlive
their resource, sqlite hands the freed resource id to the next resource, and
that resource silently inherits the dead one's data (seen with
Test::FailDelete's counter). MySQL, which real clouds use, enforces the
cascade; with the pragma on, sqlite behaves the same.

Usage: /usr/bin/python3 heat_server.py --config-file A --config-file B
"""
import sys

# heat.cmd.all does the eventlet monkey patching on import; keep it first.
from heat.cmd import all as heat_all  # noqa: E402
from heat.common import wsgi  # noqa: E402
from heat.db.sqlalchemy import api as db_api  # noqa: E402


def main():
    # before the first database use; merged with [database] later
    db_api.db_context.configure(sqlite_fk=True)
    try:
        started = [thread.wait() for thread in heat_all.launch_all()]
    except RuntimeError as exc:
        sys.exit('ERROR: %s' % exc)

    apis = [s for s in started if isinstance(s, wsgi.Server)]
    engines = [s for s in started if not isinstance(s, wsgi.Server)]
    if engines:
        sys.exit(engines[0].wait() or 0)
    for api in apis:  # API-only configuration: nothing better to wait on
        api.wait()


if __name__ == '__main__':
    main()
