"""Nothing the platform starts listens beyond the configured address (loopback by default).

The listening TCP sockets of every process supervisord runs (each service's whole process tree,
and supervisord itself) and every configured port are listed with psutil; each must be on
loopback or on ``bind_host``. The metastore is checked by name too: Hive 2.3's own server listened
on ``0.0.0.0:9083`` whatever the configuration said. (UDP is left out: resolvers' client sockets
are bound to the wildcard address without listening for anyone.)
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import psutil
import pytest

from dataplat.runtime import Stack
from dataplat.settings import Settings
from dataplat.spec import Kind

Listener = tuple[str, int, int]  # address, port, pid


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a Java socket on ::ffff:127.0.0.1 is IPv4 loopback
    return address


def allowed(ip: str, bind_host: str) -> bool:
    """Loopback, or the configured bind address (an IP or a name that resolves to one)."""
    address = _address(ip)
    if address.is_loopback:
        return True
    if address.is_unspecified:
        return False  # 0.0.0.0 / :: is every interface, never "the configured address"
    try:
        configured = {_address(str(info[4][0])) for info in socket.getaddrinfo(bind_host, None)}
    except socket.gaierror:
        return False
    return address in configured


def _tree(pid: int) -> Iterator[psutil.Process]:
    try:
        root = psutil.Process(pid)
        yield root
        yield from root.children(recursive=True)
    except psutil.NoSuchProcess:
        return


def listeners(pid: int, *, recursive: bool = True) -> list[Listener]:
    """Listening TCP sockets of ``pid`` (and of its descendants)."""
    found: list[Listener] = []
    processes = _tree(pid) if recursive else iter((psutil.Process(pid),))
    for proc in processes:
        try:
            connections = proc.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        found += [
            (conn.laddr.ip, conn.laddr.port, proc.pid)
            for conn in connections
            if conn.status == psutil.CONN_LISTEN and conn.laddr
        ]
    return found


def service_listeners(stack: Stack) -> dict[str, list[Listener]]:
    """Each running service's listening sockets, and supervisord's own."""
    out: dict[str, list[Listener]] = {}
    for name, info in stack.supervisor.all_info().items():
        if info.state == "RUNNING" and info.pid:
            out[name] = listeners(info.pid)
    pid_file = stack.paths.run / "supervisord.pid"
    if pid_file.exists():
        out["supervisord"] = listeners(int(pid_file.read_text().strip()), recursive=False)
    return out


def test_every_service_listens_on_the_configured_address_only(stack: Stack, settings: Settings) -> None:
    by_service = service_listeners(stack)
    daemons = {name for name, spec in stack.specs.items() if spec.kind is Kind.DAEMON}
    assert daemons <= set(by_service), f"not running: {sorted(daemons - set(by_service))}"
    beyond = {
        name: sorted({f"{ip}:{port} (pid {pid})" for ip, port, pid in outside})
        for name, found in by_service.items()
        if (outside := [entry for entry in found if not allowed(entry[0], settings.bind_host)])
    }
    assert not beyond, f"listening beyond {settings.bind_host}: {beyond}"


def test_configured_ports_listen_on_the_configured_address_only(stack: Stack, settings: Settings) -> None:
    """Every port in ``[ports]`` that has a listener, whoever owns it, listens nowhere else."""
    ports = set(settings.ports.model_dump().values())
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        pytest.skip("listing every socket of this machine needs more rights")
    seen = [
        (conn.laddr.ip, conn.laddr.port)
        for conn in connections
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports
    ]
    assert seen, "no configured port is listening: is the stack up?"
    beyond = sorted(f"{ip}:{port}" for ip, port in seen if not allowed(ip, settings.bind_host))
    assert not beyond, f"listening beyond {settings.bind_host}: {beyond}"


def test_metastore_listens_on_its_port_and_the_configured_address(stack: Stack, settings: Settings) -> None:
    found = service_listeners(stack)["metastore"]
    on_port = {ip for ip, port, _ in found if port == settings.ports.metastore}
    assert on_port, f"the metastore does not listen on {settings.ports.metastore}: {found}"
    assert all(allowed(ip, settings.bind_host) for ip in on_port), (
        f"metastore on {sorted(on_port)}:{settings.ports.metastore}, configured {settings.bind_host}"
    )
    assert {port for _, port, _ in found} == {settings.ports.metastore}, f"other metastore ports: {found}"
