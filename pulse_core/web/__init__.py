"""The HTTP face: the Quart app, REST routes by area, the WebSocket and the error envelope."""
