"""``python -m schema_registry --host H --port P --db PATH``: serve the registry with uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from schema_registry.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m schema_registry", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--db", type=Path, required=True, help="SQLite file holding the registry's state")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.db),
        host=args.host,
        port=args.port,
        workers=1,
        log_level=args.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
