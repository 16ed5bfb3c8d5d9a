"""The runtime's exceptions: each carries what ``up``/``status`` need to say why."""

from __future__ import annotations


class DataplatError(RuntimeError):
    """Base of the runtime's errors; the message tells the user what to do next."""


class ServiceFailedToStart(DataplatError):
    def __init__(self, name: str, reason: str, log_tail: str, hint: str = "") -> None:
        self.name, self.reason, self.log_tail, self.hint = name, reason, log_tail, hint
        super().__init__(f"{name} failed to start: {reason}")


class UnknownService(DataplatError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown service {name!r}; known: {', '.join(known)}")


class PortInUse(DataplatError):
    def __init__(self, service: str, port: int, owner: str) -> None:
        self.service, self.port, self.owner = service, port, owner
        super().__init__(f"port {port} needed by {service} is in use by {owner}")
