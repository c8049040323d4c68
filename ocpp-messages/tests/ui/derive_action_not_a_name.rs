#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Sign Certificate", request = SignCertificateRequest, response = SignCertificateResponse, initiator = ChargingStation)]
pub struct SignCertificateFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "15118Certificate", request = CertificateRequest, response = CertificateResponse, initiator = ChargingStation)]
pub struct CertificateFeature;

fn main() {}
