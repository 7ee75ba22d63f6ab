"""A second, throwaway Kafka broker with a SASL_SSL listener (SCRAM-SHA-512 over TLS).

Same jars as the local stack (.stack/kafka/libs), its own temp data dir and free ports, a throwaway
CA and broker certificate made with the ``openssl`` CLI, and the config rendered from
``stack/kafka/server-sasl-ssl.properties.in``. The caller must call :meth:`SecureBroker.stop`
(a finalizer): the JVM is killed and nothing else is touched.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from tests.conftest import STACK, _port_open, free_port

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "stack" / "kafka" / "server-sasl-ssl.properties.in"
LIBS = Path(os.environ.get("IMON_STACK_DIR", STACK)) / "kafka" / "libs"


def _run(cmd: list[str], cwd: Path, timeout: float = 60) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:3])} ... failed ({r.returncode}):\n{r.stderr[-2000:]}")


def make_pki(d: Path) -> dict[str, Path]:
    """A one-day CA and a broker certificate for IP:127.0.0.1 / DNS:localhost, as PEM files."""
    d.mkdir(parents=True, exist_ok=True)
    ossl = shutil.which("openssl")
    if ossl is None:
        raise AssertionError(
            "the openssl CLI is needed to make the test CA (Debian: apt-get install openssl)"
        )
    _run([ossl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
          "-subj", "/CN=imon-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)  # fmt: skip
    _run([ossl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
          "-subj", "/CN=127.0.0.1"], d)  # fmt: skip
    (d / "broker.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
    )
    _run([ossl, "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", "broker.crt", "-days", "1", "-extfile", "broker.ext"], d)  # fmt: skip
    # Kafka's PEM keystore wants an unencrypted PKCS#8 key followed by the certificate chain.
    _run([ossl, "pkcs8", "-topk8", "-nocrypt", "-in", "broker.key", "-out", "broker.p8"], d)
    keystore = d / "broker-keystore.pem"
    keystore.write_text(
        (d / "broker.p8").read_text() + (d / "broker.crt").read_text() + (d / "ca.pem").read_text()
    )
    return {"ca": d / "ca.pem", "keystore": keystore}


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes, URL-safe base64 without padding.

    Like Kafka's own ``Uuid.randomUuid``, it never starts with "-": the storage tool's argument
    parser would read such an id as an option and fail (1 run in 64 did, in CI).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


class SecureBroker:
    """Kafka 4 (KRaft, one node) listening with SASL_SSL only, on free ports of 127.0.0.1."""

    mechanism = "SCRAM-SHA-512"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.controller_port = free_port()
        self.admin_user, self.admin_password = "broker-admin", secrets.token_urlsafe(18)
        self.user, self.password = "imon", secrets.token_urlsafe(18)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "kafka-sasl-ssl.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> SecureBroker:
        if not any(LIBS.glob("kafka_2.13-*.jar")):
            raise AssertionError(f"no Kafka jars in {LIBS}; run `make stack-up` (it resolves them)")
        pki = make_pki(self.dir / "pki")
        self.ca = pki["ca"]
        data = self.dir / "data"
        props = self.dir / "server.properties"
        text = TEMPLATE.read_text()
        for k, v in {
            "SASL_SSL_PORT": self.port, "CONTROLLER_PORT": self.controller_port, "DATA_DIR": data,
            "KEYSTORE_PEM": pki["keystore"], "CA_PEM": pki["ca"], "ADMIN_USER": self.admin_user,
            "ADMIN_PASSWORD": self.admin_password,
        }.items():  # fmt: skip
            text = text.replace(f"@{k}@", str(v))
        left = re.findall(r"@[A-Z_]+@", "\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))
        assert not left, f"unrendered template variables: {left}"
        props.write_text(text)
        cp = f"{LIBS}/*"
        cluster_id = new_cluster_id()
        _run(["java", "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props),
              "--add-scram", f"{self.mechanism}=[name={self.admin_user},password={self.admin_password}]",
              "--add-scram", f"{self.mechanism}=[name={self.user},password={self.password}]"],
             self.dir, timeout=90)  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            ["java", "-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp, "kafka.Kafka", str(props)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not _port_open(self.bootstrap):
            if self.proc.poll() is not None:
                raise AssertionError(f"the SASL_SSL broker exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the SASL_SSL broker did not listen within {timeout}s:\n{self.tail()}")
            time.sleep(0.25)
        return self

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if hasattr(self, "_log"):
            self._log.close()
