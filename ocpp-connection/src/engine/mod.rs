//! The session engine: the rules of one OCPP-J connection, without I/O and without a runtime.
