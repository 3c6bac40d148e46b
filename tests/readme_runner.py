"""Runs one group of README examples in this process: `python
readme_runner.py spec.json`. Used by `tests/test_readme.py`, which
explains the conventions and writes the spec.

The spec holds the working directory and the group's items in README
order: Python blocks, executed in one shared namespace (so a block sees
what the blocks before it in its group defined), and shell commands, run
with bash in the same directory. A `python -m serving.server` command is
started in the background and waited for (its model AVAILABLE over gRPC,
within a bounded time); the servers are stopped when the group ends.

Exit status 0 when every item succeeds; otherwise 1, after printing a
message that starts with "README FAILURE" and names the section and the
README line.
"""

import builtins
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
import traceback

# README blocks import what a user's Python imports: this script's folder
# (tests/, first on sys.path when run as a script) would shadow packages
# such as Hugging Face's `tokenizers` with tests/tokenizers.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [path for path in sys.path
               if os.path.abspath(path or ".") != _HERE]

SERVER_START_SECONDS = 180
COMMAND_SECONDS = 180


class ItemFailure(Exception):
    """An item failed; the message says where and why."""


def where(item):
    return (f"README.md line {item['line']} (section "
            f"{item['section']!r})")


def run_python(item, namespace, readme):
    # Padding with newlines makes tracebacks give README line numbers (and
    # show the README's own lines).
    code = "\n" * (item["line"] - 1) + item["code"]
    expected = item.get("online_error")
    saved = os.environ.get("HF_HUB_OFFLINE")
    if expected:
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        exec(compile(code, readme, "exec"), namespace)
    except BaseException as error:  # noqa: BLE001 (SystemExit too)
        if expected and type(error).__name__ == expected:
            print(f"{where(item)}: raised {expected} as documented "
                  f"(offline): {error}")
            return
        raise ItemFailure(
            f"{where(item)}: the Python block raised "
            f"{type(error).__name__}:\n{traceback.format_exc()}"
        ) from None
    finally:
        if expected:
            if saved is None:
                os.environ.pop("HF_HUB_OFFLINE", None)
            else:
                os.environ["HF_HUB_OFFLINE"] = saved
    if expected:
        raise ItemFailure(
            f"{where(item)}: the block is marked online, so offline it "
            f"should raise {expected}, but it ran."
        )


def model_name(command):
    for token in shlex.split(command, comments=True):
        if token.startswith("--model_name="):
            return token.split("=", 1)[1]
    return None


def model_available(port, name):
    import grpc
    from tensorflow_serving.apis import get_model_status_pb2
    from tensorflow_serving.apis import model_service_pb2_grpc

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            response = stub.GetModelStatus(request, timeout=2)
    except grpc.RpcError:
        return False
    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    return any(s.state == available for s in response.model_version_status)


def tail(path, characters=4000):
    with open(path, errors="replace") as file:
        return file.read()[-characters:]


def start_server(item, servers, workdir):
    command = item["command"]
    name = model_name(command)
    port = next((t.split("=", 1)[1]
                 for t in shlex.split(command, comments=True)
                 if t.startswith("--port=")), None)
    if not name or not port:
        raise ItemFailure(
            f"{where(item)}: a server command needs --port= and "
            f"--model_name= for the test to wait for it:\n{command}")
    log_path = os.path.join(workdir, f"server-{len(servers)}.log")
    log = open(log_path, "w")
    # `exec`: the server replaces bash, so signals reach it. It stays in
    # this process group, which the test kills if this process hangs.
    process = subprocess.Popen(
        ["bash", "-c", "exec " + command], stdout=log,
        stderr=subprocess.STDOUT,
    )
    servers.append((process, log, log_path))
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ItemFailure(
                f"{where(item)}: the server exited with "
                f"{process.returncode}:\n{command}\n{tail(log_path)}")
        if model_available(port, name):
            print(f"{where(item)}: serving {name!r} on port {port}")
            return
        time.sleep(0.2)
    raise ItemFailure(
        f"{where(item)}: the server did not serve {name!r} within "
        f"{SERVER_START_SECONDS} s:\n{command}\n{tail(log_path)}")


def run_command(item):
    command = item["command"]
    try:
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True,
            timeout=COMMAND_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise ItemFailure(
            f"{where(item)}: the command did not finish within "
            f"{COMMAND_SECONDS} s:\n{command}") from None
    output = result.stdout + result.stderr
    print(f"$ {command}\n{output}")
    if result.returncode != 0:
        raise ItemFailure(
            f"{where(item)}: the command exited with {result.returncode}:"
            f"\n{command}\n{output[-4000:]}")
    if shlex.split(command, comments=True)[0] == "curl":
        # curl exits with 0 on an HTTP error; TF Serving's REST API
        # answers errors as {"error": ...}.
        try:
            reply = json.loads(result.stdout)
        except ValueError:
            raise ItemFailure(
                f"{where(item)}: the reply is not JSON:\n{command}\n"
                f"{output[-4000:]}") from None
        if "error" in reply:
            raise ItemFailure(
                f"{where(item)}: the server answered with an error:\n"
                f"{command}\n{result.stdout[-4000:]}")


def stop_servers(servers):
    for process, log, log_path in servers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        print(f"--- server log ({log_path}), last lines:\n"
              f"{tail(log_path, 1500)}")


def main(spec_path):
    with open(spec_path) as file:
        spec = json.load(file)
    os.chdir(spec["workdir"])
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    servers = []
    try:
        for item in spec["items"]:
            started = time.monotonic()
            if item["kind"] == "python":
                run_python(item, namespace, spec["readme"])
            elif item.get("server"):
                start_server(item, servers, spec["workdir"])
            else:
                run_command(item)
            print(f"[readme-test] {where(item)}: ok in "
                  f"{time.monotonic() - started:.1f} s", flush=True)
    except ItemFailure as failure:
        print(f"README FAILURE: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        sys.stdout.flush()
        stop_servers(servers)
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(u.ru_utime + u.ru_stime for u in (own, children))
        print(f"[readme-test] CPU time of the group: {cpu:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
