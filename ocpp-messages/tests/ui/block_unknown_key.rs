ocpp_messages::functional_block! {
    name = "provisioning";
    version = "2.0.1";
}

fn main() {}
