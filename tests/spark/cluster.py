"""A local Spark cluster for the Spark suite, started from the installed pyspark distribution:
a standalone master, one worker, and a Spark Thrift server (HiveThriftServer2) that runs its
SQL on them, as a cluster's would.

The pyspark wheel has `bin/spark-class` and `bin/spark-submit` but no `sbin/` start script for
the Thrift server, so each daemon is started here by its class, on loopback, with free ports,
in a process group of its own (stopped with it: the worker's executors too). The server keeps
its metastore (embedded Derby, one JVM: every client goes through the server) and its logs in
the cluster's folder. Run `python -m tests.spark.cluster FOLDER` to keep one running by hand.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
START_TIMEOUT = 120.0  # seconds for each daemon to say it is up (JVM start on 2 busy cores)


class ClusterError(RuntimeError):
    """A daemon of the local cluster did not start; the message ends with its log."""


@dataclass
class Cluster:
    folder: Path
    host: str = "127.0.0.1"
    thrift_port: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The server as MESH_SPARK_THRIFT takes it: `host:port`."""
        return f"{self.host}:{self.thrift_port}"

    def log(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"

    def connect(self) -> object:
        """A PyHive connection to the Thrift server (as dbt-spark's `method: thrift` opens)."""
        from pyhive import hive  # with `make test-spark`'s install

        return hive.connect(host=self.host, port=self.thrift_port, username="mesh", auth="NOSASL")

    def close(self, connection: Any) -> None:
        """Close a connection. The server may fail to close a session: Hive's session cleanup
        loads a class the pyspark wheel does not ship (`LlapSigner$Signable`, seen on a fresh
        clone's run), after the session's statements all ran; that is not the test's concern."""
        from pyhive import exc

        with contextlib.suppress(exc.OperationalError):
            connection.close()

    def stop(self) -> None:
        """Stop every daemon (and the executors the worker started), the server first."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(cluster: Cluster, name: str, command: list[str], ready: str) -> None:
    """Start one daemon and wait until its log says `ready`; raise ClusterError with the log's
    end if it exits or does not say it within START_TIMEOUT."""
    log = cluster.log(name)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": cluster.host,
        "SPARK_LOG_DIR": str(log.parent),
        "SPARK_WORKER_DIR": str(cluster.folder / "work"),
        "SPARK_NO_DAEMONIZE": "1",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=cluster.folder, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    cluster.processes.append(process)
    deadline = time.monotonic() + START_TIMEOUT
    while ready not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            state = f"exited with {process.returncode}" if process.poll() is not None else (
                f"did not start within {START_TIMEOUT:.0f} s"
            )  # fmt: skip
            raise ClusterError(f"the Spark {name} {state}; the end of {log}:\n{tail}")
        time.sleep(0.2)


def start(folder: Path, cores: int = 2, memory: str = "2g") -> Cluster:
    """Start a master, a worker with `cores` and `memory` for executors, and a Thrift server
    on them; return when the server answers a query. On failure, stop what started."""
    cluster = Cluster(folder.resolve(), thrift_port=free_port())
    cluster.folder.mkdir(parents=True, exist_ok=True)
    bin_ = spark_home() / "bin"
    master = f"spark://{cluster.host}:{free_port()}"
    port = master.rsplit(":", 1)[1]
    metastore = cluster.folder / "metastore"
    try:
        _start(cluster, "master", [
            str(bin_ / "spark-class"), "org.apache.spark.deploy.master.Master",
            "--host", cluster.host, "--port", port, "--webui-port", str(free_port()),
        ], "I have been elected leader")  # fmt: skip
        _start(cluster, "worker", [
            str(bin_ / "spark-class"), "org.apache.spark.deploy.worker.Worker", master,
            "--host", cluster.host, "--cores", str(cores), "--memory", memory,
            "--work-dir", str(cluster.folder / "work"), "--webui-port", str(free_port()),
        ], "Successfully registered with master")  # fmt: skip
        # Static settings (metastore, warehouse, memory) can only be the server's own.
        _start(cluster, "thrift-server", [
            str(bin_ / "spark-submit"), "--master", master, "--class", THRIFT_SERVER,
            "--name", "mesh-thrift-server",
            "--conf", f"spark.sql.warehouse.dir={cluster.folder / 'warehouse'}",
            "--conf", "spark.hadoop.javax.jdo.option.ConnectionURL="
                      f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true",
            "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={metastore}",
            "--conf", f"spark.executor.memory={memory}",
            "--conf", f"spark.cores.max={cores}",
            "--conf", "spark.ui.enabled=false",
            "--hiveconf", f"hive.server2.thrift.bind.host={cluster.host}",
            "--hiveconf", f"hive.server2.thrift.port={cluster.thrift_port}",
            "--hiveconf", "hive.server2.transport.mode=binary",
            "--hiveconf", "hive.server2.authentication=NOSASL",
            "spark-internal",
        ], "HiveThriftServer2 started")  # fmt: skip
        connection: Any = cluster.connect()
        cursor = connection.cursor()
        cursor.execute("select 1")
        cursor.fetchall()
        cluster.close(connection)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextlib.contextmanager
def running(folder: Path) -> Iterator[Cluster]:
    cluster = start(folder)
    try:
        yield cluster
    finally:
        cluster.stop()


if __name__ == "__main__":
    with running(Path(sys.argv[1] if len(sys.argv) > 1 else "spark-cluster")) as found:
        print(f"MESH_SPARK_THRIFT={found.address}  (Ctrl-C stops the cluster)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
