#!/usr/bin/env node
// Benchmark reference only, not part of Cascade: the seed's own real-time design on Node +
// Socket.IO (docs/BENCHMARKS.md). Clients join the seed's rooms on connecting; a change is
// emitted once to a room, which Socket.IO encodes once and writes to every member.
// No authentication and no storage: it is the bar Cascade's full path has to beat.
//
// Usage: node bench/socketio/server.mjs
//   Binds 127.0.0.1 on a free port and prints one JSON line {"port": N}; stops when stdin
//   closes or on SIGTERM.
//   WebSocket: /socket.io/?EIO=4&transport=websocket&tenant=T&user=U&role=R
//     joins tenant:{T}, user:{U}, and tenant:{T}:admins when R is tenant-admin.
//   POST /broadcast {"room": "...", "event": "config-updated", "payload": {...}}
//     emits to the room; answers {"members": N} once every member's write is queued.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/broadcast') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    let message;
    try {
      message = JSON.parse(body);
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad JSON: ${e.message}`);
      return;
    }
    io.to(message.room).emit(message.event, message.payload);
    const members = io.sockets.adapter.rooms.get(message.room)?.size ?? 0;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ members }));
  });
});

const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  const { tenant, user, role } = socket.handshake.query;
  const rooms = [`tenant:${tenant}`, `user:${user}`];
  if (role === 'tenant-admin') rooms.push(`tenant:${tenant}:admins`);
  socket.join(rooms);
});

const stop = () => {
  io.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: http.address().port })}\n`);
});
