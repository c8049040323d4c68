mod not_a_string {
    ocpp_messages::functional_block! {
        name = provisioning;
    }
}

mod empty {
    ocpp_messages::functional_block! {
        name = "";
    }
}

fn main() {}
