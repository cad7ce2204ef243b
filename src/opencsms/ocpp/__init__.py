"""The OCPP-J protocol core: no asyncio, no sockets; strings in, frames and events out.

Modules: ``version`` (versions, subprotocols), ``frames`` (frame types, encoding), ``decoding``
(received text → frames or the protocol's answer), ``error_codes`` (exception → CALLERROR code,
per version), ``schemas`` (compiled official JSON schemas), ``actions`` (who sends which action),
``tolerance`` (tolerated vendor deviations), ``events`` and ``session`` (the RPC session).
``types`` holds TypedDicts generated from the schemas.
"""
