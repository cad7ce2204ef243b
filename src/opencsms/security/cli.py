"""``opencsms ca``: create the CSMS's certificate authority and its TLS server certificate
(docs/certificates.md). Runs offline: no server, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from opencsms.security.ca import CA_CERT_FILE, CaError, CertificateAuthority

__all__ = ["ca_app"]

ca_app = typer.Typer(help="The CSMS's certificate authority (docs/certificates.md).")

Directory = Annotated[
    Path,
    typer.Option("--dir", envvar="OPENCSMS_CA_DIR", help="CA directory (ca.pem, ca.key)"),
]


@ca_app.command("init")
def init(
    directory: Directory = Path("./opencsms-ca"),
    organization: Annotated[
        str, typer.Option(help="O of the CA certificate (your CPO name)")
    ] = "OpenCSMS",
    common_name: Annotated[str, typer.Option(help="CN of the CA")] = "OpenCSMS Root CA",
    ecdsa: Annotated[bool, typer.Option("--ecdsa", help="ECDSA P-256 instead of RSA 3072")] = False,
    days: Annotated[int, typer.Option(min=1, help="Validity of the CA certificate")] = 3650,
) -> None:
    """Create a self-signed root CA; point the server's ``ca_dir`` at the directory."""
    try:
        ca = CertificateAuthority.init(
            directory,
            organization=organization,
            common_name=common_name,
            ecdsa=ecdsa,
            days=days,
            now=datetime.now(UTC),
        )
    except CaError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dir") from None
    typer.echo(f"CA created in {directory}: {ca.cert.subject.rfc4514_string()}")
    typer.echo(f"install {directory / CA_CERT_FILE} on stations as their CSMS root certificate")


@ca_app.command("issue-server")
def issue_server(
    host: Annotated[
        list[str], typer.Option("--host", help="FQDN (first: the CN) or IP; repeat for more")
    ],
    directory: Directory = Path("./opencsms-ca"),
    out: Annotated[
        Path | None, typer.Option(help="Where server.pem / server.key go [the CA directory]")
    ] = None,
    organization: Annotated[str, typer.Option(help="O of the certificate")] = "OpenCSMS",
    days: Annotated[int, typer.Option(min=1, help="Validity")] = 365,
    rsa: Annotated[bool, typer.Option("--rsa", help="An RSA 3072 key instead of ECDSA")] = False,
) -> None:
    """Issue the CSMS's TLS server certificate (tls_cert_file / tls_key_file)."""
    try:
        ca = CertificateAuthority.load(directory)
        cert, key = ca.write_server_certificate(
            out or directory,
            host,
            organization=organization,
            now=datetime.now(UTC),
            days=days,
            ecdsa=not rsa,
        )
    except CaError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dir") from None
    typer.echo(f"server certificate: {cert}\nserver key: {key}")
