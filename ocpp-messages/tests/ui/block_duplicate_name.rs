ocpp_messages::functional_block! {
    name = "provisioning";
    name = "security";
}

fn main() {}
