"""moto's server, answering one request at a time.

`moto_server` runs werkzeug with threaded=True, and moto's DynamoDB backend evaluates a
ConditionExpression and writes without a lock, so two concurrent conditional writes to one item
can both succeed -- which DynamoDB itself never allows. The request-store contract checks exactly
that guarantee (N concurrent approvals, one winner), so the tests run moto single-threaded: the
requests still arrive concurrently, the emulator just serialises them like DynamoDB does per item.

Usage: python moto_serial.py HOST PORT
"""

import os
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        app,
        threaded=False,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
