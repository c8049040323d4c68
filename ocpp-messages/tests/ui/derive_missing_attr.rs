/// A feature without its attribute.
#[derive(ocpp_messages::Feature)]
pub struct ResetFeature;

fn main() {}
