"""Rooms are found on a LAN by mDNS: a real exchange between two network namespaces."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.conftest import ROOT, read_line
from tests.integration.netns import Lan, private_lan

WATCH = str(Path(__file__).with_name("discovery_watch.py"))


def serve(lan: Lan, *flags: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "desktopchat", "serve", "--port", "0", "--history", "off"]
    return subprocess.Popen(
        lan.command(lan.host, *argv, *flags),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )


def rooms(lan: Lan, listen: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "desktopchat", "rooms", "--timeout", listen]
    return subprocess.run(
        lan.command(lan.guest, *argv), capture_output=True, text=True, timeout=30, cwd=ROOT
    )


def stop(host: subprocess.Popen[str]) -> None:
    host.send_signal(signal.SIGTERM)
    assert host.wait(timeout=10) == 0


def test_a_room_hosted_in_one_namespace_is_listed_by_desktopchat_rooms_in_the_other() -> None:
    flags = ("--host", "0.0.0.0", "--room", "lobby", "--name", "ada-laptop", "--token", "t")
    with private_lan() as lan, serve(lan, *flags) as host:
        assert host.stdout is not None
        port = re.search(r"port (\d+)", read_line(host.stdout, r"serving on port", 15))
        assert port is not None
        found = rooms(lan, "3")
        assert found.returncode == 0, found.stderr
        assert "lobby on ada-laptop [token]" in found.stdout
        assert f"wss://10.77.0.1:{port.group(1)}/chat/lobby" in found.stdout
        stop(host)


def test_the_join_screen_list_shows_a_room_and_drops_it_when_the_host_stops() -> None:
    with (
        private_lan() as lan,
        subprocess.Popen(
            lan.command(lan.guest, sys.executable, WATCH, "30"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        ) as watcher,
    ):
        assert watcher.stdout is not None
        read_line(watcher.stdout, r'"ready"', 15)
        with serve(lan, "--host", "0.0.0.0", "--name", "bob-desk") as host:
            shown = json.loads(read_line(watcher.stdout, r"bob-desk", 15))
            assert shown["shown"] == ["#chat on bob-desk · 0 here"]
            stop(host)
        stopped = time.monotonic()
        gone = json.loads(read_line(watcher.stdout, r'"shown": \[\]', 10))
        assert gone["urls"] == []
        assert time.monotonic() - stopped < 5
        watcher.kill()


def test_a_host_bound_to_loopback_does_not_advertise() -> None:
    with private_lan() as lan, serve(lan, "--host", "127.0.0.1") as host:
        assert host.stdout is not None
        read_line(host.stdout, r"serving on port", 15)
        assert "No rooms found" in rooms(lan, "2").stdout
        stop(host)


def test_with_no_network_at_all_the_room_list_is_quietly_empty() -> None:
    with private_lan() as lan:
        subprocess.run(["ip", "-n", lan.guest, "link", "set", "lo", "down"], check=True, timeout=10)
        # Only the loopback interface exists (and it is down): nothing to listen on.
        found = subprocess.run(
            ["ip", "netns", "exec", lan.guest, "ip", "-o", "link"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        veths = [line.split(":")[1].strip().split("@")[0] for line in found.stdout.splitlines()]
        for name in veths:
            if name != "lo":
                subprocess.run(["ip", "-n", lan.guest, "link", "del", name], check=True, timeout=10)
        result = rooms(lan, "1")
        assert result.returncode == 0
        assert "No rooms found" in result.stdout
        assert "Traceback" not in result.stderr


def test_rooms_on_a_computer_with_only_loopback_says_so_without_a_traceback() -> None:
    # A network namespace of its own: loopback and nothing else.
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "desktopchat", "rooms", "--timeout", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot look for rooms: no network to listen on" in done.stderr
    assert "Traceback" not in done.stderr
