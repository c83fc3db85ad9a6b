"""HTTPS in front of the test's Orthanc: a TLS-terminating TCP tunnel (Python's ssl) with a
self-signed certificate made by the openssl command. Debian 12's Orthanc 1.10 crashes on its own
HTTPS (SslEnabled: a segfault at the first handshake, with curl as with requests), so the TLS that
the client under test speaks ends here and plain HTTP goes on to Orthanc on 127.0.0.1."""
from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path


def self_signed_certificate(folder) -> tuple[Path, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class TlsTunnel:
    def __init__(self, backend_port: int, cert: Path, key: Path) -> None:
        self.backend_port = backend_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open = True
        threading.Thread(target=self._accept, daemon=True, name="tls-tunnel").start()

    def _accept(self) -> None:
        while self._open:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):  # the client refused our certificate: what one test wants
            raw.close()
            return
        backend = socket.create_connection(("127.0.0.1", self.backend_port))
        threading.Thread(target=_pump, args=(backend, client), daemon=True).start()
        _pump(client, backend)

    def close(self) -> None:
        self._open = False
        self.listener.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
