"""``ridescan serve``: the RideScan-compatible sidecar on this machine.

Without ``--keys`` it refuses to start, unless ``--insecure-local`` is given; then every caller
is the admin of org ``local`` and the server binds to loopback only, whatever ``--host`` says.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan serve``."""
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--data-dir", type=Path, default=Path("ridescan_data"),
                   help="database, uploaded files and models (default ./ridescan_data)")
    p.add_argument("--keys", type=Path, help="keys file made by 'ridescan keys create'")
    p.add_argument("--insecure-local", action="store_true",
                   help="no keys: accept every caller as admin, bind loopback only")
    p.add_argument("--max-upload-mb", type=int, default=2048, help="per-file upload limit in MB")
    p.add_argument("--max-request-mb", type=int, default=None,
                   help="whole-request limit in MB, answered early with 413 (default 2x + 16)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def run(args: argparse.Namespace) -> int:
    """Validate the options, build the app, serve until interrupted."""
    host = args.host
    if args.keys is None:
        if not args.insecure_local:
            print("ridescan serve: refusing to start without --keys FILE "
                  "(create one with 'ridescan keys create'), or pass --insecure-local "
                  "to serve loopback only without keys", file=sys.stderr)
            return 2
        if host not in LOOPBACK:
            print(f"ridescan serve: --insecure-local binds 127.0.0.1, not {host}", file=sys.stderr)
            host = "127.0.0.1"
    elif not args.keys.is_file():
        print(f"ridescan serve: keys file {args.keys} not found", file=sys.stderr)
        return 2
    from ridescan_ros.api.app import Settings, create_app
    from ridescan_ros.api.server import serve_forever
    from ridescan_ros.core.keys import KeyRing, KeysError

    if args.keys is not None:
        try:
            n = len(KeyRing(args.keys))
        except KeysError as err:
            print(f"ridescan serve: {err}", file=sys.stderr)
            return 2
        if n == 0:
            print(f"ridescan serve: {args.keys} holds no keys", file=sys.stderr)
            return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ridescan_ros.service import RideScanService
    from ridescan_ros.service.errors import ServiceError

    service = RideScanService(args.data_dir)
    try:
        service.start()  # before uvicorn: a data dir another process serves is refused plainly
    except ServiceError as err:
        service.store.close()
        print(f"ridescan serve: {err.details}", file=sys.stderr)
        return 2
    settings = Settings(data_dir=args.data_dir, keys_file=args.keys, insecure_local=args.insecure_local,
                        max_upload_mb=args.max_upload_mb, max_request_mb=args.max_request_mb,
                        service=service)
    app = create_app(settings)
    print(f"ridescan serve: http://{host}:{args.port}/api (docs at /docs), data in {args.data_dir}",
          file=sys.stderr, flush=True)
    try:
        serve_forever(app, host, args.port, args.log_level)
    finally:
        service.stop()
    return 0
