// The seed's page, kept to its promise: join the room, show what arrives, send on Enter.
// Every message is shown with textContent, so markup in a message is shown, never run.
"use strict";
const params = new URLSearchParams(location.search);
const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const query = params.has("token") ? "?token=" + encodeURIComponent(params.get("token")) : "";
const ws = new WebSocket(`${scheme}//${location.host}/chat${query}`);
const messages = document.getElementById("messages");
const input = document.getElementById("input");
const state = document.getElementById("state");
ws.onopen = () => { state.textContent = "connected"; };
ws.onclose = (event) => {
  state.textContent = `closed (${event.code})${event.reason ? ": " + event.reason : ""}`;
};
ws.onmessage = (event) => {
  const p = document.createElement("p");
  p.textContent = typeof event.data === "string" ? event.data : "[binary message]";
  messages.appendChild(p);
};
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && input.value) {
    ws.send(input.value);
    input.value = "";
  }
});
