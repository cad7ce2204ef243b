"""``opencsms ca init`` / ``issue-server`` as an operator runs them: real processes, files that
Python's TLS stack (what the CSMS's wss listeners use) accepts."""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path

from cryptography import x509

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))


async def _run(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        OPENCSMS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_init_then_issue_server(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    code, out = await _run("ca", "init", "--dir", str(ca_dir), "--organization", "ACME CPO")
    assert code == 0, out
    (ca,) = x509.load_pem_x509_certificates((ca_dir / "ca.pem").read_bytes())
    assert ca.subject.rfc4514_string() == "O=ACME CPO,CN=OpenCSMS Root CA"
    code, out = await _run("ca", "init", "--dir", str(ca_dir))
    assert code == 2
    assert "refusing to overwrite" in out
    code, out = await _run("ca", "issue-server", "--dir", str(ca_dir), "--host", "csms.example.com")
    assert code == 0, out
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca_dir / "server.pem", ca_dir / "server.key")
    client = ssl.create_default_context(cafile=str(ca_dir / "ca.pem"))

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi")
        await writer.drain()
        writer.close()

    # A real TLS handshake: the chain verifies against the CA and the name matches.
    server = await asyncio.start_server(hello, "127.0.0.1", 0, ssl=context)
    async with server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname="csms.example.com"
        )
        assert await reader.read() == b"hi"
        writer.close()


async def test_issue_server_without_a_ca(tmp_path: Path) -> None:
    code, out = await _run("ca", "issue-server", "--dir", str(tmp_path), "--host", "x")
    assert code == 2
    assert "opencsms ca init" in out
