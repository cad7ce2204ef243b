"""OCPP 2.1 route table.

The 2.1 messages handled so far keep the 2.0.1 shapes for every field these handlers read (2.1 only
adds optional fields), so they share the 2.0.1 handlers.
"""

from opencsms.handlers.router import RouteTable
from opencsms.handlers.v201 import ROUTES as V201_ROUTES

ROUTES: RouteTable = dict(V201_ROUTES)
