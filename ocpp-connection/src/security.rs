//! Security profiles (OCPP 2.0.1 Part 2, A00), HTTP Basic credentials, password rules, TLS
//! configurations and the identity a station certificate carries.
