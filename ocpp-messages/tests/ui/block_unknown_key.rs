ocpp_messages::functional_block! {
    name = "provisioning";
    profile = "2.0.1";
}

fn main() {}
