"""Certificates and ISO 15118 Plug & Charge (docs/certificates.md).

* :mod:`.ca` — the CSMS's certificate authority: created by ``opencsms ca init`` or an external
  CA's key and certificate; signs station CSRs and issues the CSMS server certificate.
* :mod:`.csr_rules` — what a station's CSR must satisfy before it is signed (1.6 security
  whitepaper A00.FR.501-512, A02.FR.13; 2.0.1 A02).
* :mod:`.ocsp` — an OCSP client (RFC 6960) with a cache, over a pluggable HTTP transport.
* :mod:`.contracts` — contract certificate checks for Authorize (2.0.1 C07, errata C07.FR.13-17).
* :mod:`.contract_provider` — where Get15118EVCertificate requests go (2.0.1 M01/M02).
* :mod:`.model` — the records these modules, the domain service and the store share.

Nothing here imports an OCPP version package: handlers translate.
"""
