"""``hdfs-init``: create the lake's folders over WebHDFS, owned by the platform's user (idempotent).

``python -m dataplat.setup.hdfs <webhdfs-url> <user> <path>=<mode>...`` (argv built by
:func:`dataplat.services.hdfs.specs`).
"""

from __future__ import annotations

import sys


def ensure_dirs(webhdfs_url: str, user: str, dirs: list[str]) -> None:
    """Create ``path=mode`` folders owned by ``user`` over WebHDFS (idempotent)."""
    from hdfs import InsecureClient

    client = InsecureClient(webhdfs_url, user=user)
    for spec in dirs:
        path, _, mode = spec.partition("=")
        client.makedirs(path, permission=mode)
        client.set_permission(path, mode)  # makedirs leaves existing folders as they were
        client.set_owner(path, owner=user)
        print(f"{path} {mode} {user}")


if __name__ == "__main__":
    ensure_dirs(sys.argv[1], sys.argv[2], sys.argv[3:])
