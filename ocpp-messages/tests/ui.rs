//! Compile-fail tests: every diagnostic of `#[derive(Feature)]`, `#[derive(Codec)]` and
//! `functional_block!`, with the expected compiler output in `tests/ui/*.stderr`.
//!
//! After changing a diagnostic, regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p ocpp-messages --test ui` and check the spans in the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
