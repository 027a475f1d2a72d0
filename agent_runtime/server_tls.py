"""A certificate for the hop from the load balancer to the task (`AGENT_TLS=self_signed`).

The internal load balancer terminates the callers' TLS with the ACM certificate and opens a new
connection to the task. With an HTTPS target group that connection is TLS too, and the load balancer
"does not validate these certificates. Therefore, you can use self-signed certificates"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-routing-configuration).
So each task makes its own key pair at start-up: no private key in the image, the environment or a
secret store, and bearer tokens are encrypted on the VPC hop as well. The key never leaves the task's
/tmp (mode 0600) and dies with it.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

# Longer than any task lives: ECS replaces tasks on every deployment; the load balancer ignores the dates anyway.
VALIDITY_DAYS = 365


def self_signed_certificate(directory: Path | None = None) -> tuple[Path, Path]:
    """(certificate file, key file) of a fresh P-256 key pair and a self-signed certificate, PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = Path(directory or tempfile.mkdtemp(prefix="agent-tls-"))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agent-task")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("agent-task")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_file, certificate_file = directory / "agent-tls.key", directory / "agent-tls.crt"
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate_file, key_file
