"""Proportional set size (PSS) of a service: its process tree, shared pages split fairly."""

from __future__ import annotations

import psutil


def tree_pss_bytes(pid: int) -> int:
    """Sum of PSS over ``pid`` and all its descendants (0 when it is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            continue
    return total
