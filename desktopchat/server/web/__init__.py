"""The server on the web: the Starlette app and its endpoints, admission, our HTTP and
WebSocket protocols under uvicorn, the runner, TLS and LAN announcements."""
