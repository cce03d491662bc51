//! Frames of the web messaging guest WebSocket as `GuestSession` reads them: any text (lossy
//! UTF-8) through `parse_frame` under a small and a large maximum.
//! Checked beyond "no panic": `TooLarge` exactly when the frame exceeds the maximum; a
//! `JwtResponse` never shows its JWT in Debug; an unknown class keeps the whole frame; error
//! frames carry a bounded message.
#![no_main]

use genesys_messaging::guest::{FrameError, GuestEvent, parse_frame};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for max in [64usize, 1 << 20] {
        match parse_frame(&text, max) {
            Err(FrameError::TooLarge { bytes, max: m }) => {
                assert_eq!(m, max);
                assert!(bytes > max && bytes == text.len());
            }
            Err(e) => {
                assert!(text.len() <= max);
                let _ = e.to_string();
            }
            Ok(event) => {
                assert!(text.len() <= max);
                match &event {
                    GuestEvent::Jwt(j) => {
                        let secret = j.jwt.expose_secret();
                        if secret.len() >= 8 {
                            assert!(!format!("{event:?}").contains(secret));
                        }
                    }
                    GuestEvent::Unknown { raw, class } => {
                        assert_eq!(raw["class"].as_str(), Some(class.as_str()));
                    }
                    GuestEvent::Error(e) => {
                        assert!(e.message.chars().count() <= 120);
                        assert_ne!(e.code, 200);
                    }
                    GuestEvent::Message { message, .. } => {
                        serde_json::to_vec(message.as_ref()).expect("a decoded message serializes");
                    }
                    _ => {}
                }
            }
        }
    }
});
