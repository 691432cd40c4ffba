"""``ridescan keys create``: make an API key; print it once, store only its hash."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan keys``."""
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    c = sub.add_parser("create", help="create a key and append its hash to the keys file")
    c.add_argument("--keys", type=Path, required=True, help="keys file (YAML; created if missing)")
    c.add_argument("--org", required=True, help="organisation the key belongs to")
    c.add_argument("--role", choices=("admin", "user"), default="user",
                   help="admin: all robots of the org; user: only robots it creates")


def run(args: argparse.Namespace) -> int:
    """Create the key; the key goes to stdout (once), everything else to stderr."""
    from ridescan_ros.core.keys import KeysError, create_key

    try:
        key, entry = create_key(args.keys, args.org, args.role)
    except KeysError as err:
        print(f"ridescan keys: {err}", file=sys.stderr)
        return 2
    print(key)
    print(f"created key {entry.id} (org {entry.org}, role {entry.role}); only its hash was written "
          f"to {args.keys}. Store the key now: it cannot be shown again.", file=sys.stderr)
    return 0
