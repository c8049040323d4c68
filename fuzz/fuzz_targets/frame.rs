//! Frame parsing: `Frame::parse` and the in-place envelope read `Envelope::peek` on any text.
//!
//! Never a panic; a parsed frame written back parses to itself; where `peek` reads an envelope
//! it is the one `parse` finds; every `FrameError` answers with a CALLERROR frame that parses,
//! under every version, carrying the frame's own id or `-1`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_messages::frame::{Envelope, Frame};
use ocpp_messages::OcppVersion;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let peeked = Envelope::peek(text);
    match Frame::parse(text) {
        Ok(frame) => {
            let written = frame.to_text();
            let again = Frame::parse(&written).expect("a frame's own text parses");
            assert_eq!(again, frame, "{written}");
            match (peeked, &frame) {
                (None, _) => {}
                (
                    Some(Envelope::Call { message_id, action }),
                    Frame::Call {
                        message_id: id,
                        action: a,
                        ..
                    },
                ) => assert!(message_id == id && action == a, "{text}"),
                (
                    Some(Envelope::CallResult { message_id }),
                    Frame::CallResult { message_id: id, .. },
                ) => assert_eq!(message_id, id, "{text}"),
                (Some(envelope), frame) => panic!("peek read {envelope:?}, parse {frame:?}"),
            }
        }
        Err(error) => {
            // An envelope `peek` accepts has a readable id, so the error keeps it.
            if let Some(Envelope::Call { message_id, .. } | Envelope::CallResult { message_id }) =
                peeked
            {
                if let Some(id) = &error.message_id {
                    assert_eq!(id, message_id);
                }
            }
            for &version in OcppVersion::ALL {
                let reply = error.to_frame(version);
                match Frame::parse(&reply) {
                    Ok(Frame::CallError { message_id, .. }) => {
                        assert_eq!(message_id, error.answer_id())
                    }
                    other => panic!("{reply} is not a CALLERROR: {other:?}"),
                }
            }
        }
    }
});
