//! The WebSocket opening handshake of both sides: the station identity from the URL path, the
//! OCPP subprotocol, and authentication per security profile.
