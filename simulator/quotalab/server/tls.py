"""A throwaway local certificate authority so the mock server can speak HTTPS.

SDKs such as Microsoft's MSAL refuse a plain-http authority. ``local_ca``
makes a fresh CA with trustme (never hand-rolled X.509), issues the server a
certificate for ``127.0.0.1``, ``localhost`` and ``::1``, and writes
``ca.pem`` (what clients trust) and ``server.pem`` (key and chain, for
uvicorn) into a directory. A new CA is made at every start: nothing outlives
the run that trusts it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from quotalab.errors import InputError

CA_FILE = "ca.pem"
SERVER_FILE = "server.pem"
HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class LocalCA:
    """Where the CA certificate and the server's key and certificate chain were written."""

    directory: Path
    ca_file: Path
    server_file: Path

    def client_environment(self) -> dict[str, str]:
        """Variables that make Python clients trust the CA (httpx, requests, ssl, MSAL)."""
        ca = str(self.ca_file)
        return {"SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca}

    def instructions(self) -> str:
        """How to trust the CA, as the server prints it on start."""
        return "\n".join(
            [
                f"tls:    CA certificate {self.ca_file} (a fresh CA, valid for {', '.join(HOSTS)})",
                f"trust:  export SSL_CERT_FILE={self.ca_file} REQUESTS_CA_BUNDLE={self.ca_file}",
                f"        or curl --cacert {self.ca_file} ...",
            ]
        )


def local_ca(directory: str | Path | None = None) -> LocalCA:
    """A new CA and server certificate written to ``directory`` (a fresh temp dir if None).

    Raises ``InputError`` when the directory cannot be created or written.
    """
    import trustme  # only when TLS is asked for

    try:
        if directory is None:
            target = Path(tempfile.mkdtemp(prefix="quotalab-tls-"))
        else:
            target = Path(directory)
            target.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="quotalab throwaway local CA")
        certificate = ca.issue_cert(*HOSTS)
        ca_file = target / CA_FILE
        server_file = target / SERVER_FILE
        ca.cert_pem.write_to_path(str(ca_file))
        # The private key: readable by its owner only.
        descriptor = os.open(server_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(certificate.private_key_and_cert_chain_pem.bytes())
    except OSError as error:
        raise InputError(
            f"--tls-dir {directory}: cannot write the certificates ({error.strerror})"
        ) from None
    return LocalCA(target, ca_file, server_file)
