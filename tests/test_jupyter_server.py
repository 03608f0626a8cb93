"""A real Jupyter server (the one JupyterLab runs on), driven as the lab drives it: list the
notebooks through the REST API, start a kernel for one, run its cells over the kernel's
websocket channel, check the outputs, and leave no process behind, pass or fail."""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

websocket = pytest.importorskip("websocket")  # websocket-client, a jupyter_server dependency

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Server:
    """``jupyter server`` on 127.0.0.1, a random port and token, in its own process group
    and with its own runtime, data and config folders."""

    def __init__(self, root: Path, home: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_CONFIG_DIR=str(home / "config"),
                   MPLBACKEND="module://matplotlib_inline.backend_inline")
        self.log = open(home / "server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"]
            + (["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def api(self, path: str, method: str = "GET", body=None, timeout: float = 10):
        request = urllib.request.Request(
            f"{self.base}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
            return json.loads(text) if text else None

    def wait_until_up(self, seconds: float = 60) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (Path(self.log.name).read_text())
            try:
                return self.api("/api/status", timeout=2)
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"the server did not answer in {seconds} s")

    def stop(self) -> None:
        """Shut down through the API, then make sure the whole process group is gone."""
        try:
            self.api("/api/shutdown", method="POST", timeout=5)
            self.proc.wait(timeout=20)
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def execute(ws, code: str, timeout: float = 300) -> list[dict]:
    """Run ``code`` in the kernel behind the websocket; its iopub messages, in order."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    messages, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id or msg["channel"] != "iopub":
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
        messages.append(msg)
    raise TimeoutError(f"no idle status after {timeout} s for: {code[:80]}")


def test_a_notebook_runs_through_a_real_jupyter_server(tmp_path):
    server = Server(ROOT / "notebooks", tmp_path)
    kernel_pid = None
    try:
        assert "started" in server.wait_until_up()
        listing = server.api("/api/contents/")
        names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        assert names == sorted(p.name for p in (ROOT / "notebooks").glob("0*_*.ipynb"))
        # as the lab opens a notebook: a session, with the notebook's own kernelspec
        nb = nbformat.read(ROOT / "notebooks" / "01_data_and_mazes.ipynb", as_version=4)
        session = server.api("/api/sessions", method="POST", body={
            "path": "01_data_and_mazes.ipynb", "type": "notebook",
            "kernel": {"name": nb.metadata.kernelspec.name}})
        kernel = session["kernel"]["id"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels?token={server.token}",
            timeout=300)
        try:
            pid_out = execute(
                ws, "import os; print(os.getpid(), os.environ.get('JPY_SESSION_NAME'))")
            pid, session_name = pid_out[-1]["content"]["text"].split()
            kernel_pid = int(pid)
            assert session_name.endswith("01_data_and_mazes.ipynb")  # what run_all keys bars on
            images, errors = 0, []
            for cell in nb.cells:
                if cell.cell_type != "code" or "skip-execution" in cell.metadata.get("tags", []):
                    continue
                source = cell.source
                if "parameters" in cell.metadata.get("tags", []):
                    source += "\nn_examples = 4"  # a class would shrink it the same way
                for msg in execute(ws, source):
                    if msg["msg_type"] == "error":
                        errors.append(msg["content"]["evalue"])
                    if "image/png" in msg["content"].get("data", {}):
                        images += 1
            assert errors == []
            assert images >= 4  # the notebook's figures arrive over the channel
        finally:
            ws.close()
        server.api(f"/api/sessions/{session['id']}", method="DELETE")
    finally:
        server.stop()
    assert server.proc.returncode is not None
    deadline = time.monotonic() + 10
    while kernel_pid is not None and _alive(kernel_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    outlived = kernel_pid is not None and _alive(kernel_pid)
    if outlived:
        os.kill(kernel_pid, signal.SIGKILL)  # leave nothing behind, then fail
    assert not outlived, "the kernel outlived its server"
