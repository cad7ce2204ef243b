#!/usr/bin/env node
// A minimal CSMS on the `ocpp-rpc` npm package in strict mode: a foreign, strict peer for the
// simulator's interop tests (tests/simulator/test_foreign_csms.py, docs/simulator-interop.md).
//
// Strict mode validates every inbound CALL and every outbound CALLRESULT against the package's own
// bundled schemas for the negotiated subprotocol, and the station's answers to our CALLs too. A
// station that sends anything off-schema gets a CALLERROR (FormatViolation & co.), never a handler.
//
//   node server.js [PORT] [--host H] [--heartbeat-interval S]      (PORT 0: the OS picks one)
//
// stdout carries one JSON object per line:
//   {"event":"listening","port":N}                          once, when the socket is bound
//   {"event":"connect","station":ID,"protocol":P}          a station connected
//   {"event":"disconnect","station":ID}                    it went away
//   {"event":"call","station":ID,"action":A,"params":{..},"result":{..}}   a CALL it sent and our
//        CALLRESULT (or "error":{"code","message"} instead of "result" for a CALLERROR); logged
//        just after the answer went on the wire
//   {"event":"strictValidationFailure", ...}, {"event":"badMessage", ...}
//   {"event":"result","id":X,"result":{..}} / {"event":"error","id":X,"error":{..}}
//        the outcome of a command
// stdin takes commands, one JSON object per line:
//   {"id":X,"station":ID,"action":"GetConfiguration","params":{}}   call the station
// The server stops when stdin closes, or on SIGTERM/SIGINT.
'use strict';

const readline = require('node:readline');
const { RPCServer, createRPCError } = require('ocpp-rpc');

const PROTOCOLS = ['ocpp1.6', 'ocpp2.0.1'];

function parseArgs(argv) {
    const options = {
        port: Number(process.env.OCPP_PEER_PORT ?? 0),
        host: process.env.OCPP_PEER_HOST ?? '127.0.0.1',
        heartbeatInterval: Number(process.env.OCPP_PEER_HEARTBEAT_INTERVAL ?? 300),
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '--host') options.host = argv[++i];
        else if (arg === '--heartbeat-interval') options.heartbeatInterval = Number(argv[++i]);
        else if (/^\d+$/.test(arg)) options.port = Number(arg);
        else throw new Error(`unknown argument ${arg}`);
    }
    return options;
}

function emit(event) {
    // Writes to a pipe are synchronous on Linux, so lines never interleave.
    process.stdout.write(JSON.stringify(event) + '\n');
}

function errorInfo(err) {
    return {
        code: err.rpcErrorCode ?? err.name ?? 'Error',
        message: err.message ?? String(err),
        details: err.details ?? {},
    };
}

const now = () => new Date().toISOString();
// 1.6 §6.2 / 2.0.1 C01: a CSMS without a blocklist; "BLOCKED" stands in for one.
const authStatus = (token) => (token === 'BLOCKED' ? 'Blocked' : 'Accepted');
// 1.6 §6.16 / 2.0.1 P01: no vendor extensions here.
const dataTransfer = () => ({ status: 'UnknownVendorId' });
const empty = () => ({});

function handlers16(options, nextTransactionId) {
    return {
        BootNotification: () => ({
            status: 'Accepted',
            currentTime: now(),
            interval: options.heartbeatInterval,
        }),
        Heartbeat: () => ({ currentTime: now() }),
        StatusNotification: empty,
        Authorize: ({ params }) => ({ idTagInfo: { status: authStatus(params.idTag) } }),
        StartTransaction: ({ params }) => ({
            transactionId: nextTransactionId(),
            idTagInfo: { status: authStatus(params.idTag) },
        }),
        StopTransaction: ({ params }) =>
            params.idTag === undefined ? {} : { idTagInfo: { status: authStatus(params.idTag) } },
        MeterValues: empty,
        DataTransfer: dataTransfer,
        DiagnosticsStatusNotification: empty,
        FirmwareStatusNotification: empty,
        // 1.6 security whitepaper messages with trivial answers.
        SecurityEventNotification: empty,
        LogStatusNotification: empty,
        SignedFirmwareStatusNotification: empty,
        SignCertificate: () => ({ status: 'Accepted' }),
    };
}

function handlers201(options) {
    return {
        BootNotification: () => ({
            status: 'Accepted',
            currentTime: now(),
            interval: options.heartbeatInterval,
        }),
        Heartbeat: () => ({ currentTime: now() }),
        StatusNotification: empty,
        Authorize: ({ params }) => ({ idTokenInfo: { status: authStatus(params.idToken.idToken) } }),
        // E01-E07: idTokenInfo only when the event carries an idToken.
        TransactionEvent: ({ params }) =>
            params.idToken === undefined
                ? {}
                : { idTokenInfo: { status: authStatus(params.idToken.idToken) } },
        MeterValues: empty,
        DataTransfer: dataTransfer,
        NotifyReport: empty,
        NotifyEvent: empty,
        NotifyMonitoringReport: empty,
        NotifyChargingLimit: empty,
        ReportChargingProfiles: empty,
        FirmwareStatusNotification: empty,
        LogStatusNotification: empty,
        SecurityEventNotification: empty,
        SignCertificate: () => ({ status: 'Accepted' }),
    };
}

async function main() {
    const options = parseArgs(process.argv.slice(2));
    let lastTransactionId = 0;
    const nextTransactionId = () => ++lastTransactionId;
    const stations = new Map(); // identity → the live RPCServerClient

    const server = new RPCServer({ protocols: PROTOCOLS, strictMode: true });

    server.on('client', (client) => {
        const station = client.identity;
        stations.set(station, client);
        emit({ event: 'connect', station, protocol: client.protocol });

        const table = client.protocol === 'ocpp1.6'
            ? handlers16(options, nextTransactionId)
            : handlers201(options);
        for (const [action, handler] of Object.entries(table)) {
            client.handle(action, handler);
        }

        // Log every inbound CALL together with the answer that went out for it.
        const inbound = new Map(); // messageId → {action, params}
        client.on('call', ({ outbound, payload }) => {
            if (!outbound) inbound.set(payload[1], { action: payload[2], params: payload[3] });
        });
        client.on('response', ({ outbound, payload }) => {
            if (!outbound) return;
            const call = inbound.get(payload[1]);
            if (call === undefined) return;
            inbound.delete(payload[1]);
            const line = { event: 'call', station, action: call.action, params: call.params };
            if (payload[0] === 3) line.result = payload[2];
            else line.error = { code: payload[2], message: payload[3], details: payload[4] };
            emit(line);
        });
        client.on('strictValidationFailure', (failure) => {
            emit({
                event: 'strictValidationFailure',
                station,
                action: failure.method,
                outbound: failure.outbound,
                isCall: failure.isCall,
                params: failure.params,
                result: failure.result,
                error: errorInfo(failure.error),
            });
        });
        client.on('badMessage', ({ buffer, error }) => {
            emit({ event: 'badMessage', station, message: buffer.toString(), error: errorInfo(error) });
        });
        client.once('close', () => {
            if (stations.get(station) === client) stations.delete(station);
            emit({ event: 'disconnect', station });
        });
    });

    const httpServer = await server.listen(options.port, options.host);
    emit({ event: 'listening', port: httpServer.address().port });

    let closing = false;
    const shutdown = async () => {
        if (closing) return;
        closing = true;
        await server.close({ force: true });
        process.exit(0);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);

    const commands = readline.createInterface({ input: process.stdin });
    commands.on('line', async (text) => {
        if (!text.trim()) return;
        let command;
        try {
            command = JSON.parse(text);
        } catch (err) {
            emit({ event: 'error', id: null, error: { code: 'BadCommand', message: err.message } });
            return;
        }
        const { id, station, action, params } = command;
        const client = stations.get(station);
        try {
            if (client === undefined) {
                throw createRPCError('GenericError', `station ${station} is not connected`);
            }
            const result = await client.call(action, params ?? {});
            emit({ event: 'result', id, station, action, result });
        } catch (err) {
            emit({ event: 'error', id, station, action, error: errorInfo(err) });
        }
    });
    commands.on('close', shutdown);
}

main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
});
