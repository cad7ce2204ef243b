"""What makes several OpenCSMS nodes one system (issue 10; ARCHITECTURE ``cluster/``).

- :mod:`.leases` — station ownership: the node that holds a station's socket holds its lease,
  whose fencing token grows on every takeover, in PostgreSQL.
- :mod:`.bus` — the NATS bus: CALLs routed to the node that holds a station (request-reply on
  the station's own subject, so only the holder answers and "no responders" means offline), and
  domain events fanned out to every node.
- :mod:`.codec` — domain events to JSON and back, for the bus.
- :mod:`.leadership` — work that must run on one node at a time, under a PostgreSQL advisory
  lock that the server releases when the holder's connection dies.

Single-node mode (SQLite, no NATS) uses none of this.
"""
