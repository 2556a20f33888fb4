// Peer: Node's `ws` (the most used WebSocket server), relaying every message to every
// client as its README's broadcast example does. Install once: npm install --prefix bench/peers ws@8
"use strict";
const { WebSocketServer, WebSocket } = require("ws");

const port = Number(process.argv[2]);
const compression = process.argv[3] === "on";
const server = new WebSocketServer({
  host: "127.0.0.1",
  port,
  perMessageDeflate: compression,
  maxPayload: 1 << 30,
});
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    for (const client of server.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
server.on("listening", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
