// The Node socket.io peer of the benchmark suite (bench/README.md), with the same handlers
// as the others:
//   echo                    -> acks with the same arguments (and attachments);
//   join <room>             -> joins the room, then acks;
//   broadcast <room|null> d -> emits `msg` d to every other socket of the room, or to
//                              every socket of `/`, the sender included, when the room is
//                              null.
// Default engine (ws, no native add-ons), listen backlog 4096, TCP_NODELAY, ping 25 s / 20 s.
//
//   node bench/node/server.js 3103
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || process.env.PORT || 3103);

const httpServer = http.createServer({ noDelay: true });
const io = new Server(httpServer, {
  pingInterval: 25000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  // The suite's clients never negotiate compression; say so explicitly.
  perMessageDeflate: false,
  httpCompression: false,
});

io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('join', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('broadcast', (room, data) => {
    if (room === null || room === undefined) io.emit('msg', data);
    else socket.to(room).emit('msg', data);
  });
});

httpServer.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`socket.io ${require('socket.io/package.json').version} on 127.0.0.1:${port}`);
});

process.on('SIGTERM', () => process.exit(0));
