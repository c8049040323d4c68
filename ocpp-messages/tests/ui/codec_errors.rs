use ocpp_messages::Codec;

#[derive(Codec)]
pub struct Misplaced {
    #[ocpp(max_length = 5)]
    pub count: i64,
    #[ocpp(minimum = 0, min_items = 1)]
    pub name: String,
    #[ocpp(format = "email")]
    pub mail: String,
    #[ocpp(colour = "red")]
    pub paint: String,
    #[ocpp(multiple_of = 0)]
    pub step: f64,
    pub small: u32,
}

#[derive(Codec)]
pub struct Twice {
    #[ocpp(rename = "a")]
    pub first: String,
    #[ocpp(rename = "a")]
    pub second: String,
    #[ocpp(extra)]
    pub more: serde_json::Map<String, serde_json::Value>,
    #[ocpp(extra)]
    pub again: serde_json::Map<String, serde_json::Value>,
}

#[derive(Codec)]
pub enum WithData {
    Plain,
    #[ocpp(rename = "Plain")]
    Same,
    Carrying(String),
}

#[derive(Codec)]
pub struct Generic<T> {
    pub value: T,
}

#[derive(Codec)]
pub struct Tuple(String);

fn main() {}
