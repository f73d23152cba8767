"""`iga ui`'s command line: a port in use, a port out of range and a host that is not this machine's are one
line with a hint and an exit code of the table, never a traceback from inside gradio (issue #17 item 5)."""

from __future__ import annotations

import errno
import socket

import pytest

from iga_core.cli import main, ui_cmds
from iga_core.errors import ExitCode


def run(capsys, *argv):
    code = main(["ui", *map(str, argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_port_in_use_is_one_line_with_the_next_port(capsys, busy_port):
    code, _, err = run(capsys, "--port", busy_port, "--models", "anywhere")
    assert code == ExitCode.UNAVAILABLE
    assert err.splitlines()[0] == f"iga: port {busy_port} on 127.0.0.1 is in use by another program"
    assert f"--port {busy_port + 1}" in err


@pytest.mark.parametrize("port", ["99999", "0", "-1", "abc"])
def test_a_port_out_of_range_is_a_usage_error(capsys, port):
    with pytest.raises(SystemExit) as exc:
        main(["ui", "--port", port])
    assert exc.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "argument --port: a port is" in err and "Traceback" not in err and "Overflow" not in err


def test_a_host_that_is_not_this_machines(capsys):
    code, _, err = run(capsys, "--host", "192.0.2.1", "--port", "7870")  # TEST-NET-1: never a local address
    assert code == ExitCode.USAGE and "--host 192.0.2.1 is not an address of this machine" in err
    assert "127.0.0.1" in err and "port" not in err.splitlines()[0]  # not the misleading "empty port" message


def test_a_host_that_does_not_resolve(capsys, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(ui_cmds.socket, "getaddrinfo", no_dns)
    code, _, err = run(capsys, "--host", "nosuch.invalid")
    assert code == ExitCode.USAGE and "--host nosuch.invalid: no such address" in err


def test_a_port_taken_between_the_check_and_the_launch(capsys, monkeypatch, tmp_path):
    pytest.importorskip("gradio")
    from iga_core.ui import app

    class App:
        def queue(self):
            return self

        def launch(self, **kwargs):  # gradio 4.40 networking.start_server: OSError("Cannot find empty port ...")
            raise OSError(errno.EADDRINUSE, "Cannot find empty port in range: 7870-7870")

    monkeypatch.setattr(app, "build_app", lambda folder, loras_dir=None: App())
    monkeypatch.setattr(ui_cmds, "check_listen", lambda host, port: None)
    code, _, err = run(capsys, "--models", tmp_path, "--port", "7870")
    assert code == ExitCode.UNAVAILABLE and "port 7870 on 127.0.0.1 is in use" in err and "--port 7871" in err
