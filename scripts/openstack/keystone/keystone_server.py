"""Serve Keystone's WSGI application on 127.0.0.1 for tests.

Why a server of our own: Debian runs Keystone under Apache/uwsgi from the
`keystone` package, which we do not install (debconf, dbconfig, systemd).
The standard library's WSGI server is enough for a test identity service.
It handles one request at a time on purpose: Keystone on sqlite hit
"database is locked" errors under a threaded server. The listen backlog is
raised so bursts of concurrent clients wait instead of being retried by TCP.

Usage: python3 keystone_server.py PORT CONFIG_FILE [CONFIG_FILE...]
Set KEYSTONE_LOG_REQUESTS=1 to log one line per request to stderr.
"""
import os
import sys
from wsgiref import simple_server


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    # Keystone reads its config files from this variable (';'-separated) ...
    os.environ['OS_KEYSTONE_CONFIG_FILES'] = ';'.join(sys.argv[2:])
    # ... and would parse our arguments as its own options: hide them.
    del sys.argv[1:]

    from keystone.server import wsgi as keystone_wsgi
    app = keystone_wsgi.initialize_public_application()

    log_requests = bool(os.environ.get('KEYSTONE_LOG_REQUESTS'))

    class Handler(simple_server.WSGIRequestHandler):
        def log_message(self, fmt, *args):
            if log_requests:
                super().log_message(fmt, *args)

    class Server(simple_server.WSGIServer):
        request_queue_size = 128

    httpd = simple_server.make_server('127.0.0.1', port, app,
                                      server_class=Server,
                                      handler_class=Handler)
    print('keystone serving http://127.0.0.1:%d/v3' % port, flush=True)
    httpd.serve_forever()


if __name__ == '__main__':
    main()
